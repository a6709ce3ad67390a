//! Conversion of trained `burn::nn` layers into their quantized counterparts.
//!
//! The converted layer holds copies of the original parameters (new parameter ids) in the
//! fused, output-unit-major layout. With [`QuantizationConfig::full_precision`] it computes the
//! same function as the original; settings the quantized layers do not implement are rejected
//! with [`Error::UnsupportedModule`] instead of silently computing something else.

use burn::nn::activation::Activation;
use burn::nn::{Embedding, GateController, Gru, Linear, Lstm};
use burn::prelude::*;

use crate::error::{Error, Result};
use crate::nn::new_param;
use crate::nn::{QuantEmbedding, QuantGru, QuantLinear, QuantLstm, QuantizationConfig};

impl QuantLinear {
    /// Converts a `burn::nn::Linear` (weight `[d_input, d_output]`, transposed here).
    pub fn from_linear(linear: &Linear, quant: &QuantizationConfig) -> Result<Self> {
        let weight = new_param(linear.weight.val().transpose());
        let bias = linear.bias.as_ref().map(|b| new_param(b.val()));
        Ok(Self::from_parts(weight, bias, quant.quantizers()?))
    }
}

impl QuantEmbedding {
    /// Converts a `burn::nn::Embedding`; only `weight_bits` and `method` of `quant` apply.
    pub fn from_embedding(embedding: &Embedding, quant: &QuantizationConfig) -> Result<Self> {
        let quantizers = quant.quantizers()?;
        Ok(Self::from_parts(
            new_param(embedding.weight.val()),
            quantizers.weight,
        ))
    }
}

impl QuantLstm {
    /// Converts a `burn::nn::Lstm`. Fused gate order: input, forget, cell, output; the two
    /// biases of each gate are summed.
    ///
    /// Rejected: `batch_first = false`, `reverse`, cell `clip`, coupled `input_forget`, and
    /// activations other than sigmoid gates with tanh cell and hidden activations.
    pub fn from_lstm(lstm: &Lstm, quant: &QuantizationConfig) -> Result<Self> {
        let unsupported = |reason: &str| Error::UnsupportedModule {
            module: "Lstm",
            reason: reason.to_owned(),
        };
        if !lstm.batch_first {
            return Err(unsupported(
                "batch_first = false (QuantLstm is batch-first)",
            ));
        }
        if lstm.reverse {
            return Err(unsupported("reverse = true"));
        }
        if lstm.clip.is_some() {
            return Err(unsupported("cell state clip"));
        }
        if lstm.input_forget {
            return Err(unsupported("input_forget (coupled forget gate)"));
        }
        if !matches!(lstm.gate_activation, Activation::Sigmoid(_))
            || !matches!(lstm.cell_activation, Activation::Tanh(_))
            || !matches!(lstm.hidden_activation, Activation::Tanh(_))
        {
            return Err(unsupported("activations other than sigmoid/tanh/tanh"));
        }
        let forget_gate = lstm
            .forget_gate
            .as_ref()
            .ok_or_else(|| unsupported("missing forget gate"))?;
        let gates = [
            &lstm.input_gate,
            forget_gate,
            &lstm.cell_gate,
            &lstm.output_gate,
        ];
        let fused = FusedGates::new(&gates);
        Ok(Self::from_parts(
            new_param(fused.input_weight),
            new_param(fused.recurrent_weight),
            summed_biases(&gates, lstm.d_hidden).map(new_param),
            quant.quantizers()?,
        ))
    }
}

impl QuantGru {
    /// Converts a `burn::nn::Gru`. Fused gate order: update, reset, new. Biases are summed
    /// except the new gate's hidden bias under `reset_after`, which stays separate
    /// ([`QuantGru::recurrent_new_bias`]).
    ///
    /// Rejected: hidden state `clip` and activations other than sigmoid gates with a tanh
    /// candidate.
    pub fn from_gru(gru: &Gru, quant: &QuantizationConfig) -> Result<Self> {
        let unsupported = |reason: &str| Error::UnsupportedModule {
            module: "Gru",
            reason: reason.to_owned(),
        };
        if gru.clip.is_some() {
            return Err(unsupported("hidden state clip"));
        }
        if !matches!(gru.gate_activation, Activation::Sigmoid(_))
            || !matches!(gru.hidden_activation, Activation::Tanh(_))
        {
            return Err(unsupported("activations other than sigmoid/tanh"));
        }
        let gates = [&gru.update_gate, &gru.reset_gate, &gru.new_gate];
        let fused = FusedGates::new(&gates);
        let (bias, recurrent_new_bias) = if gru.reset_after {
            // b_hn is multiplied by r: only the update/reset hidden biases may be merged.
            let merged = [
                gate_bias(&gru.update_gate, true),
                gate_bias(&gru.reset_gate, true),
                gate_bias(&gru.new_gate, false),
            ];
            let recurrent_new = bias_val(&gru.new_gate.hidden_transform);
            (concat_biases(merged, gru.d_hidden), recurrent_new)
        } else {
            (summed_biases(&gates, gru.d_hidden), None)
        };
        Ok(Self::from_parts(
            new_param(fused.input_weight),
            new_param(fused.recurrent_weight),
            bias.map(new_param),
            recurrent_new_bias.map(new_param),
            gru.reset_after,
            quant.quantizers()?,
        ))
    }
}

/// Gate weights of burn's per-gate `Linear`s (`[d_in, h]`) stacked into the fused
/// output-unit-major layout (`[gates · h, d_in]`).
struct FusedGates {
    input_weight: Tensor<2>,
    recurrent_weight: Tensor<2>,
}

impl FusedGates {
    fn new(gates: &[&GateController]) -> Self {
        let rows = |linear: fn(&GateController) -> &Linear| -> Tensor<2> {
            let blocks = gates
                .iter()
                .map(|gate| linear(gate).weight.val().transpose())
                .collect();
            Tensor::cat(blocks, 0)
        };
        Self {
            input_weight: rows(|g| &g.input_transform),
            recurrent_weight: rows(|g| &g.hidden_transform),
        }
    }
}

/// Both biases of every gate summed, concatenated in gate order.
fn summed_biases(gates: &[&GateController], h: usize) -> Option<Tensor<1>> {
    concat_biases(gates.iter().map(|gate| gate_bias(gate, true)), h)
}

/// The gate's input bias, plus its hidden bias when `with_hidden`; `None` if it has neither.
fn gate_bias(gate: &GateController, with_hidden: bool) -> Option<Tensor<1>> {
    let input = bias_val(&gate.input_transform);
    let hidden = with_hidden
        .then(|| bias_val(&gate.hidden_transform))
        .flatten();
    match (input, hidden) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

fn bias_val(linear: &Linear) -> Option<Tensor<1>> {
    linear.bias.as_ref().map(|b| b.val())
}

/// Concatenates per-gate biases; gates without a bias contribute zeros. `None` when no gate
/// has one.
fn concat_biases(
    biases: impl IntoIterator<Item = Option<Tensor<1>>>,
    h: usize,
) -> Option<Tensor<1>> {
    let biases: Vec<_> = biases.into_iter().collect();
    let device = biases.iter().flatten().next()?.device();
    let blocks = biases
        .into_iter()
        .map(|b| b.unwrap_or_else(|| Tensor::zeros([h], &device)))
        .collect();
    Some(Tensor::cat(blocks, 0))
}
