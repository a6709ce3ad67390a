//! Quantized LSTM with fused gate matrices.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Initializer, LstmState};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use super::recurrent::{InputProjection, check_dims, stack_steps};
use super::{LayerQuantizers, QuantizationConfig, effective_weight};
use crate::error as amq;
use crate::quantizer::{QuantMethod, Quantizer};
use crate::ste::maybe_quantize_ste;

/// Number of gates of an LSTM.
const GATES: usize = 4;

/// Configuration of a [`QuantLstm`].
#[derive(Config, Debug)]
pub struct QuantLstmConfig {
    /// Input features.
    pub d_input: usize,
    /// Hidden (and cell) state size.
    pub d_hidden: usize,
    /// Whether the gates have a (full-precision) bias.
    pub bias: bool,
    /// Bits per weight (`1..=8`), per gate unit; `None` keeps full precision.
    #[config(default = "Some(2)")]
    pub weight_bits: Option<usize>,
    /// Bits per activation vector (`1..=8`): `h_{t−1}` at every step and, with
    /// `quantize_input`, `x_t`. `None` quantizes weights only.
    #[config(default = "None")]
    pub act_bits: Option<usize>,
    /// Quantization procedure.
    #[config(default = "QuantMethod::Alternating { cycles: 2 }")]
    pub method: QuantMethod,
    /// Whether `x_t` is quantized when `act_bits` is set; false when `x` comes from a
    /// `QuantEmbedding` (already quantized).
    #[config(default = true)]
    pub quantize_input: bool,
    /// Initializer of weights and bias (the same default as `burn::nn::Lstm`; fan-in/out are
    /// those of one gate).
    #[config(default = "Initializer::XavierNormal { gain: 1.0 }")]
    pub initializer: Initializer,
}

impl QuantLstmConfig {
    /// The quantization part of this configuration.
    pub fn quantization(&self) -> QuantizationConfig {
        QuantizationConfig::new()
            .with_weight_bits(self.weight_bits)
            .with_act_bits(self.act_bits)
            .with_method(self.method)
            .with_quantize_input(self.quantize_input)
    }

    /// Builds the layer; fails on zero dimensions or bit widths outside `1..=8`.
    pub fn init(&self, device: &Device) -> amq::Result<QuantLstm> {
        check_dims(self.d_input, self.d_hidden)?;
        let quantizers = self.quantization().quantizers()?;
        let (h, fans) = (self.d_hidden, (Some(self.d_input), Some(self.d_hidden)));
        let init = |shape: [usize; 2]| self.initializer.init_with(shape, fans.0, fans.1, device);
        let input_weight = init([GATES * h, self.d_input]);
        let recurrent_weight = init([GATES * h, h]);
        let bias = self.bias.then(|| {
            self.initializer
                .init_with([GATES * h], fans.0, fans.1, device)
        });
        Ok(QuantLstm::from_parts(
            input_weight,
            recurrent_weight,
            bias,
            quantizers,
        ))
    }
}

/// A batch-first LSTM with row-wise quantized, fused gate weights and online quantization of
/// the hidden state; computes `burn::nn::Lstm`'s function (sigmoid gates, tanh cell and
/// hidden activations) when quantization is off.
///
/// Gate blocks in the fused matrices, by rows: input `i` `[0, h)`, forget `f` `[h, 2h)`, cell
/// candidate `g` `[2h, 3h)`, output `o` `[3h, 4h)` (PyTorch's order). Per step:
/// `z = x̂_t Ŵᵀ + ĥ_{t−1} Ûᵀ + b`, `c_t = σ(z_f) c_{t−1} + σ(z_i) tanh(z_g)`,
/// `h_t = σ(z_o) tanh(c_t)`; hats mark quantized values, `c` and the gates stay f32.
#[derive(Module, Debug)]
pub struct QuantLstm {
    /// Shadow input weights `[4h, d_input]`, one quantized row per gate unit.
    pub input_weight: Param<Tensor<2>>,
    /// Shadow recurrent weights `[4h, h]`, one quantized row per gate unit.
    pub recurrent_weight: Param<Tensor<2>>,
    /// Gate bias `[4h]` (burn's two per-gate biases summed), never quantized.
    pub bias: Option<Param<Tensor<1>>>,
    /// Hidden size `h`.
    pub d_hidden: usize,
    #[module(skip)]
    quantizers: LayerQuantizers,
}

impl QuantLstm {
    pub(crate) fn from_parts(
        input_weight: Param<Tensor<2>>,
        recurrent_weight: Param<Tensor<2>>,
        bias: Option<Param<Tensor<1>>>,
        quantizers: LayerQuantizers,
    ) -> Self {
        let [rows, _] = recurrent_weight.dims();
        Self {
            input_weight,
            recurrent_weight,
            bias,
            d_hidden: rows / GATES,
            quantizers,
        }
    }

    /// Runs the sequence `x` (`[batch, seq, d_input]`) from `state` (zeros when `None`);
    /// returns all hidden states `[batch, seq, h]` and the final state, like
    /// `burn::nn::Lstm::forward` with `batch_first = true`.
    pub fn forward(&self, x: Tensor<3>, state: Option<LstmState<2>>) -> (Tensor<3>, LstmState<2>) {
        let [batch, seq, _] = x.dims();
        let h = self.d_hidden;
        let device = x.device();
        let weight =
            |w: &Param<Tensor<2>>| maybe_quantize_ste(self.quantizers.weight.as_ref(), w.val());
        // One product per gate rather than one fused product cut into gates at every step:
        // under autodiff, cutting `z` costs a full-size zero tensor and a copy per gate and
        // step in the backward pass; cutting the weights costs that once per forward.
        let gate_rows = |w: &Tensor<2>, k: usize| w.clone().narrow(0, k * h, h);
        let recurrent = weight(&self.recurrent_weight); // [4h, h]
        let recurrent_t: [Tensor<2>; GATES] =
            std::array::from_fn(|k| gate_rows(&recurrent, k).transpose()); // [h, h] each
        // The input products do not depend on the state (batched or per step: `InputProjection`).
        let x = maybe_quantize_ste(self.quantizers.input.as_ref(), x);
        let input = weight(&self.input_weight); // [4h, d_input]
        let bias = self.bias.as_ref().map(Param::val);
        let projected: [InputProjection; GATES] = std::array::from_fn(|k| {
            InputProjection::new(
                x.clone(),
                gate_rows(&input, k),
                bias.clone().map(|b| b.narrow(0, k * h, h)),
                None,
            )
        }); // [batch, h] per gate and step
        let (mut cell, mut hidden) = match state {
            Some(state) => (state.cell, state.hidden),
            None => (
                Tensor::zeros([batch, h], &device),
                Tensor::zeros([batch, h], &device),
            ),
        };
        let mut outputs = Vec::with_capacity(seq);
        for t in 0..seq {
            let hidden_q = maybe_quantize_ste(self.quantizers.hidden.as_ref(), hidden.clone());
            let gate =
                |k: usize| projected[k].step(t) + hidden_q.clone().matmul(recurrent_t[k].clone());
            let input_gate = sigmoid(gate(0));
            let forget_gate = sigmoid(gate(1));
            let candidate = gate(2).tanh();
            let output_gate = sigmoid(gate(3));
            cell = forget_gate * cell + input_gate * candidate;
            hidden = output_gate * cell.clone().tanh();
            outputs.push(hidden.clone());
        }
        let outputs = stack_steps(outputs, [batch, seq, h], &device);
        (outputs, LstmState::new(cell, hidden))
    }

    /// The input weights the forward pass uses, `[4h, d_input]`, without gradient.
    pub fn effective_input_weight(&self) -> Tensor<2> {
        effective_weight(self.quantizers.weight.as_ref(), &self.input_weight)
    }

    /// The recurrent weights the forward pass uses, `[4h, h]`, without gradient.
    pub fn effective_recurrent_weight(&self) -> Tensor<2> {
        effective_weight(self.quantizers.weight.as_ref(), &self.recurrent_weight)
    }

    /// Input size.
    pub fn d_input(&self) -> usize {
        self.input_weight.dims()[1]
    }

    /// The weight quantizer (`None` = full-precision weights).
    pub fn weight_quantizer(&self) -> Option<Quantizer> {
        self.quantizers.weight
    }

    /// The quantizer of `x_t` (`None` = full precision).
    pub fn input_quantizer(&self) -> Option<Quantizer> {
        self.quantizers.input
    }

    /// The quantizer of `h_{t−1}` (`None` = full precision).
    pub fn hidden_quantizer(&self) -> Option<Quantizer> {
        self.quantizers.hidden
    }
}
