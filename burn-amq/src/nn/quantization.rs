//! The quantization settings shared by all layers.

use burn::config::Config;
use burn::module::Param;
use burn::prelude::*;

use crate::error as amq;
use crate::quantizer::{QuantMethod, Quantizer};

/// What a layer quantizes and how. Used by the `from_*` converters; the layer configs carry
/// the same fields.
#[derive(Config, Debug, PartialEq)]
pub struct QuantizationConfig {
    /// Bits per weight (`1..=8`), row-wise per output unit; `None` keeps full precision.
    #[config(default = "Some(2)")]
    pub weight_bits: Option<usize>,
    /// Bits per activation vector (`1..=8`); `None` leaves activations in full precision.
    #[config(default = "None")]
    pub act_bits: Option<usize>,
    /// The quantization procedure for weights and activations.
    #[config(default = "QuantMethod::Alternating { cycles: 2 }")]
    pub method: QuantMethod,
    /// Whether the layer's input is activation-quantized (when `act_bits` is set). Set to
    /// false when the input is already quantized, e.g. the output of a `QuantEmbedding`.
    #[config(default = true)]
    pub quantize_input: bool,
}

impl QuantizationConfig {
    /// No quantization at all: the layer computes exactly what its `burn::nn` original does.
    pub fn full_precision() -> Self {
        Self::new().with_weight_bits(None).with_act_bits(None)
    }

    /// Validates the settings.
    pub(crate) fn quantizers(&self) -> amq::Result<LayerQuantizers> {
        let activation = Quantizer::optional("act_bits", self.act_bits, self.method)?;
        Ok(LayerQuantizers {
            weight: Quantizer::optional("weight_bits", self.weight_bits, self.method)?,
            input: activation.filter(|_| self.quantize_input),
            hidden: activation,
        })
    }
}

/// Validated quantizers of one layer; `None` = full precision at that point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerQuantizers {
    /// Weights, row-wise.
    pub weight: Option<Quantizer>,
    /// The layer input.
    pub input: Option<Quantizer>,
    /// Recurrent activations (`h_{t−1}`); unused by feed-forward layers.
    pub hidden: Option<Quantizer>,
}

/// A trainable parameter holding `value`, cut from any graph `value` was computed in.
pub(crate) fn new_param<const D: usize>(value: Tensor<D>) -> Param<Tensor<D>> {
    Param::from_tensor(value.detach())
}

/// The value a layer's forward pass uses for `weight`: row-wise quantized when `quantizer` is
/// set, without gradient.
pub(crate) fn effective_weight(
    quantizer: Option<&Quantizer>,
    weight: &Param<Tensor<2>>,
) -> Tensor<2> {
    let weight = weight.val().detach();
    match quantizer {
        Some(quantizer) => quantizer.quantize_rows(weight),
        None => weight,
    }
}
