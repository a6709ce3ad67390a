//! Straight-through estimator and shadow-weight clipping.
//!
//! Training keeps full-precision "shadow" weights `w`; the forward pass uses `ŵ = Q(w)` and the
//! backward pass treats `Q` as the identity (`∂L/∂w = ∂L/∂ŵ`). Following the paper, the shadow
//! weights are clipped to `[−1, 1]` after each optimizer step so outliers cannot grow and
//! spoil the quantization.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;

use crate::error::Result;
use crate::quantizer::{QuantMethod, Quantizer};

/// Straight-through estimator: the value of `q`, the gradient of `x` (identity).
///
/// `q` should not depend on `x` through the graph (compute it on a detached value).
pub fn ste<const D: usize>(x: Tensor<D>, q: Tensor<D>) -> Tensor<D> {
    x.clone() + (q - x).detach()
}

/// Quantizes `x` along its last dimension (one coefficient vector per `x[.., :]`) and applies
/// the straight-through estimator: the forward value is the dequantized code, the gradient
/// w.r.t. `x` is the identity.
///
/// Fails with [`crate::Error::InvalidBits`] unless `bits` is in `1..=8`.
pub fn quantize_ste<const D: usize>(
    x: Tensor<D>,
    bits: usize,
    method: QuantMethod,
) -> Result<Tensor<D>> {
    Ok(Quantizer::new(bits, method)?.quantize_ste(x))
}

impl Quantizer {
    /// [`quantize_ste`] with an already validated quantizer (cannot fail).
    pub fn quantize_ste<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        // The quantized value is computed off the tape, on the plain inner tensor.
        let q = self.quantize_last_dim(x.clone().inner());
        if x.is_autodiff() {
            ste(x, q.autodiff())
        } else {
            // Without autodiff there is no gradient to route: the exact code is the value.
            q
        }
    }
}

/// Applies `quantizer` with the STE when it is set, passes `x` through otherwise.
pub(crate) fn maybe_quantize_ste<const D: usize>(
    quantizer: Option<&Quantizer>,
    x: Tensor<D>,
) -> Tensor<D> {
    match quantizer {
        Some(quantizer) => quantizer.quantize_ste(x),
        None => x,
    }
}

/// Names of the quantized weight parameters, by the struct that owns them (as reported by
/// [`ModuleMapper::enter_module`]: `"Struct:<TypeName>"`, field name). Biases are not listed:
/// they are not quantized, so they are not clipped.
const QUANTIZED_WEIGHTS: &[(&str, &str)] = &[
    ("Struct:QuantLinear", "weight"),
    ("Struct:QuantEmbedding", "weight"),
    ("Struct:QuantLstm", "input_weight"),
    ("Struct:QuantLstm", "recurrent_weight"),
    ("Struct:QuantGru", "input_weight"),
    ("Struct:QuantGru", "recurrent_weight"),
];

/// A [`ModuleMapper`] that clamps the weight parameters of this crate's quantized layers
/// (`QuantLinear`, `QuantEmbedding`, `QuantLstm`, `QuantGru`, wherever they sit in a model) to
/// `[min, max]`. Biases and all other parameters are left alone. Parameter ids and the
/// `require_grad` state are kept, so optimizer state still matches after clipping.
///
/// Layers are recognised by their type name; a foreign struct with the same name and field
/// would be clipped too.
#[derive(Debug, Clone)]
pub struct ClipWeights {
    /// Lower bound.
    pub min: f32,
    /// Upper bound.
    pub max: f32,
    /// Current module path: (field name, container type) per level.
    path: Vec<(String, String)>,
}

impl ClipWeights {
    /// Clips to `[min, max]`.
    pub fn new(min: f32, max: f32) -> Self {
        Self {
            min,
            max,
            path: Vec::new(),
        }
    }

    fn at_quantized_weight(&self) -> bool {
        self.path.last().is_some_and(|(field, container)| {
            QUANTIZED_WEIGHTS
                .iter()
                .any(|&(c, f)| c == container && f == field)
        })
    }
}

impl Default for ClipWeights {
    /// The paper's range `[−1, 1]`.
    fn default() -> Self {
        Self::new(-1.0, 1.0)
    }
}

impl ModuleMapper for ClipWeights {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push((name.to_owned(), container_type.to_owned()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !self.at_quantized_weight() {
            return param;
        }
        let (min, max) = (self.min, self.max);
        // `Param::map` keeps the id and the configured training state. The clamp runs off the
        // tape so the result is a fresh leaf, not a node hanging off the old parameter.
        param.map(|w| {
            let on_autodiff = w.is_autodiff();
            let require_grad = w.is_require_grad();
            let clipped = w.inner().clamp(min, max);
            match (on_autodiff, require_grad) {
                (true, true) => clipped.autodiff().require_grad(),
                (true, false) => clipped.autodiff(),
                (false, _) => clipped,
            }
        })
    }
}

/// Clamps the quantized layers' shadow weights in `module` to `[−1, 1]`; call it after every
/// optimizer step: `model = clip_shadow_weights(optim.step(lr, model, grads))`.
pub fn clip_shadow_weights<M: Module>(module: M) -> M {
    module.map(&mut ClipWeights::default())
}
