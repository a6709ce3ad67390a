//! Quantized fully connected layer.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::prelude::*;

use super::{LayerQuantizers, QuantizationConfig, effective_weight};
use crate::error as amq;
use crate::quantizer::{QuantMethod, Quantizer};
use crate::ste::maybe_quantize_ste;

/// Configuration of a [`QuantLinear`].
#[derive(Config, Debug)]
pub struct QuantLinearConfig {
    /// Input features.
    pub d_input: usize,
    /// Output features.
    pub d_output: usize,
    /// Whether a (full-precision) bias is added.
    #[config(default = true)]
    pub bias: bool,
    /// Bits per weight (`1..=8`), per output unit; `None` keeps full precision.
    #[config(default = "Some(2)")]
    pub weight_bits: Option<usize>,
    /// Bits per input vector (`1..=8`); `None` leaves the input in full precision.
    #[config(default = "None")]
    pub act_bits: Option<usize>,
    /// Quantization procedure.
    #[config(default = "QuantMethod::Alternating { cycles: 2 }")]
    pub method: QuantMethod,
    /// Whether the input is quantized when `act_bits` is set.
    #[config(default = true)]
    pub quantize_input: bool,
    /// Initializer of weight and bias (the same default as `burn::nn::Linear`).
    #[config(
        default = "Initializer::KaimingUniform { gain: 1.0 / f64::sqrt(3.0), fan_out_only: false }"
    )]
    pub initializer: Initializer,
}

impl QuantLinearConfig {
    /// The quantization part of this configuration.
    pub fn quantization(&self) -> QuantizationConfig {
        QuantizationConfig::new()
            .with_weight_bits(self.weight_bits)
            .with_act_bits(self.act_bits)
            .with_method(self.method)
            .with_quantize_input(self.quantize_input)
    }

    /// Builds the layer; fails on zero dimensions or bit widths outside `1..=8`.
    pub fn init(&self, device: &Device) -> amq::Result<QuantLinear> {
        if self.d_input == 0 {
            return Err(amq::Error::ZeroDimension { what: "d_input" });
        }
        if self.d_output == 0 {
            return Err(amq::Error::ZeroDimension { what: "d_output" });
        }
        let quantizers = self.quantization().quantizers()?;
        let (fan_in, fan_out) = (Some(self.d_input), Some(self.d_output));
        let weight =
            self.initializer
                .init_with([self.d_output, self.d_input], fan_in, fan_out, device);
        let bias = self.bias.then(|| {
            self.initializer
                .init_with([self.d_output], fan_in, fan_out, device)
        });
        Ok(QuantLinear::from_parts(weight, bias, quantizers))
    }
}

/// A fully connected layer `y = x Ŵᵀ + b` with row-wise quantized weights `Ŵ` and optionally
/// quantized inputs.
#[derive(Module, Debug)]
pub struct QuantLinear {
    /// Shadow weights `[d_output, d_input]`: row `j` is output unit `j` and gets its own
    /// coefficients. (Transposed w.r.t. `burn::nn::Linear`, which stores `[d_input, d_output]`.)
    pub weight: Param<Tensor<2>>,
    /// Bias `[d_output]`, never quantized.
    pub bias: Option<Param<Tensor<1>>>,
    #[module(skip)]
    weight_quantizer: Option<Quantizer>,
    #[module(skip)]
    input_quantizer: Option<Quantizer>,
}

impl QuantLinear {
    pub(crate) fn from_parts(
        weight: Param<Tensor<2>>,
        bias: Option<Param<Tensor<1>>>,
        quantizers: LayerQuantizers,
    ) -> Self {
        Self {
            weight,
            bias,
            weight_quantizer: quantizers.weight,
            input_quantizer: quantizers.input,
        }
    }

    /// Applies the layer to `input` (`[..., d_input]` → `[..., d_output]`), like
    /// `burn::nn::Linear::forward`.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        self.forward_prequantized(self.quantize_input(input))
    }

    /// Activation-quantizes `input` along its last dimension as [`forward`](Self::forward)
    /// does (with the straight-through estimator); the identity without an input quantizer.
    pub fn quantize_input<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        maybe_quantize_ste(self.input_quantizer.as_ref(), input)
    }

    /// Applies the layer to an input that [`quantize_input`](Self::quantize_input) has
    /// already quantized, without quantizing it again.
    ///
    /// This is how dropout goes in front of a layer with a quantized input: quantize, then
    /// drop, then `forward_prequantized`. Dropping first would hand the quantizer a vector
    /// with half its entries zero and the rest scaled up, whose codes differ from those of
    /// the undropped vector that evaluation and the packed model quantize.
    pub fn forward_prequantized<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let weight = maybe_quantize_ste(self.weight_quantizer.as_ref(), self.weight.val());
        let mut dims = input.dims();
        let [d_output, d_input] = weight.dims();
        let rows = dims[..D - 1].iter().product::<usize>();
        if rows == 0 {
            // Burn's `reshape` reads a 0 as "keep this dimension", so empty inputs skip it.
            dims[D - 1] = d_output;
            return Tensor::zeros(dims, &input.device());
        }
        let output = input.reshape([rows, d_input]).matmul(weight.transpose());
        let output = match &self.bias {
            Some(bias) => output + bias.val().unsqueeze_dim(0),
            None => output,
        };
        dims[D - 1] = d_output;
        output.reshape(dims)
    }

    /// The weights the forward pass uses, `[d_output, d_input]`, without gradient.
    pub fn effective_weight(&self) -> Tensor<2> {
        effective_weight(self.weight_quantizer.as_ref(), &self.weight)
    }

    /// The weight quantizer (`None` = full-precision weights).
    pub fn weight_quantizer(&self) -> Option<Quantizer> {
        self.weight_quantizer
    }

    /// The input quantizer (`None` = full-precision input).
    pub fn input_quantizer(&self) -> Option<Quantizer> {
        self.input_quantizer
    }
}
