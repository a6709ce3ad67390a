//! Quantized GRU with fused gate matrices.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use super::recurrent::{InputProjection, check_dims, stack_steps};
use super::{LayerQuantizers, QuantizationConfig, effective_weight};
use crate::error as amq;
use crate::quantizer::{QuantMethod, Quantizer};
use crate::ste::maybe_quantize_ste;

/// Number of gates of a GRU.
const GATES: usize = 3;

/// Configuration of a [`QuantGru`].
#[derive(Config, Debug)]
pub struct QuantGruConfig {
    /// Input features.
    pub d_input: usize,
    /// Hidden state size.
    pub d_hidden: usize,
    /// Whether the gates have (full-precision) biases.
    pub bias: bool,
    /// Apply the reset gate after the recurrent product of the new gate,
    /// `n = tanh(x Wₙ + bₙ + r ⊙ (h Uₙ + b_hn))` (burn's default), instead of before it,
    /// `n = tanh(x Wₙ + (r ⊙ h) Uₙ + bₙ)`.
    #[config(default = true)]
    pub reset_after: bool,
    /// Bits per weight (`1..=8`), per gate unit; `None` keeps full precision.
    #[config(default = "Some(2)")]
    pub weight_bits: Option<usize>,
    /// Bits per activation vector (`1..=8`): `h_{t−1}` at every step (and `r ⊙ h_{t−1}` when
    /// `reset_after` is false) and, with `quantize_input`, `x_t`. `None` quantizes weights only.
    #[config(default = "None")]
    pub act_bits: Option<usize>,
    /// Quantization procedure.
    #[config(default = "QuantMethod::Alternating { cycles: 2 }")]
    pub method: QuantMethod,
    /// Whether `x_t` is quantized when `act_bits` is set.
    #[config(default = true)]
    pub quantize_input: bool,
    /// Initializer of weights and biases (the same default as `burn::nn::Gru`; fan-in/out are
    /// those of one gate).
    #[config(default = "Initializer::XavierNormal { gain: 1.0 }")]
    pub initializer: Initializer,
}

impl QuantGruConfig {
    /// The quantization part of this configuration.
    pub fn quantization(&self) -> QuantizationConfig {
        QuantizationConfig::new()
            .with_weight_bits(self.weight_bits)
            .with_act_bits(self.act_bits)
            .with_method(self.method)
            .with_quantize_input(self.quantize_input)
    }

    /// Builds the layer; fails on zero dimensions or bit widths outside `1..=8`.
    pub fn init(&self, device: &Device) -> amq::Result<QuantGru> {
        check_dims(self.d_input, self.d_hidden)?;
        let quantizers = self.quantization().quantizers()?;
        let h = self.d_hidden;
        let fans = (Some(self.d_input), Some(h));
        let init2 = |shape: [usize; 2]| self.initializer.init_with(shape, fans.0, fans.1, device);
        let init1 = |len: usize| self.initializer.init_with([len], fans.0, fans.1, device);
        Ok(QuantGru::from_parts(
            init2([GATES * h, self.d_input]),
            init2([GATES * h, h]),
            self.bias.then(|| init1(GATES * h)),
            (self.bias && self.reset_after).then(|| init1(h)),
            self.reset_after,
            quantizers,
        ))
    }
}

/// A batch-first GRU with row-wise quantized, fused gate weights and online quantization of
/// the hidden state; computes `burn::nn::Gru`'s function (sigmoid gates, tanh candidate) when
/// quantization is off.
///
/// Gate blocks in the fused matrices, by rows: update `z` `[0, h)`, reset `r` `[h, 2h)`, new
/// `n` `[2h, 3h)` (burn's order). `h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}`.
#[derive(Module, Debug)]
pub struct QuantGru {
    /// Shadow input weights `[3h, d_input]`, one quantized row per gate unit.
    pub input_weight: Param<Tensor<2>>,
    /// Shadow recurrent weights `[3h, h]`, one quantized row per gate unit.
    pub recurrent_weight: Param<Tensor<2>>,
    /// Bias `[3h]` added to the input product: burn's input and hidden biases summed for `z`
    /// and `r`; for `n` the input bias alone when `reset_after`, both summed otherwise.
    pub bias: Option<Param<Tensor<1>>>,
    /// Recurrent new-gate bias `b_hn` `[h]`, which sits inside `r ⊙ (h Uₙ + b_hn)` and so
    /// cannot be merged; present only with `reset_after` and biases.
    pub recurrent_new_bias: Option<Param<Tensor<1>>>,
    /// Hidden size `h`.
    pub d_hidden: usize,
    /// Reset gate after (true) or before (false) the new gate's recurrent product.
    pub reset_after: bool,
    #[module(skip)]
    quantizers: LayerQuantizers,
}

impl QuantGru {
    pub(crate) fn from_parts(
        input_weight: Param<Tensor<2>>,
        recurrent_weight: Param<Tensor<2>>,
        bias: Option<Param<Tensor<1>>>,
        recurrent_new_bias: Option<Param<Tensor<1>>>,
        reset_after: bool,
        quantizers: LayerQuantizers,
    ) -> Self {
        let [rows, _] = recurrent_weight.dims();
        Self {
            input_weight,
            recurrent_weight,
            bias,
            recurrent_new_bias,
            d_hidden: rows / GATES,
            reset_after,
            quantizers,
        }
    }

    /// Runs the sequence `x` (`[batch, seq, d_input]`) from `state` (`[batch, h]`, zeros when
    /// `None`) and returns all hidden states `[batch, seq, h]`, like `burn::nn::Gru::forward`.
    pub fn forward(&self, x: Tensor<3>, state: Option<Tensor<2>>) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let h = self.d_hidden;
        let device = x.device();
        let weight =
            |w: &Param<Tensor<2>>| maybe_quantize_ste(self.quantizers.weight.as_ref(), w.val());
        let recurrent_t = weight(&self.recurrent_weight).transpose(); // [h, 3h]
        let new_bias = self
            .recurrent_new_bias
            .as_ref()
            .map(|b| b.val().unsqueeze_dim::<2>(0));
        let projected = InputProjection::new(
            x,
            weight(&self.input_weight),
            self.bias.as_ref().map(Param::val),
            self.quantizers.input.as_ref(),
        ); // [batch, 3h] per step
        let mut hidden = state.unwrap_or_else(|| Tensor::zeros([batch, h], &device));
        let mut outputs = Vec::with_capacity(seq);
        let quantize_hidden = |v: Tensor<2>| maybe_quantize_ste(self.quantizers.hidden.as_ref(), v);
        for t in 0..seq {
            let x_part = projected.step(t);
            let x_gate = |k: usize| x_part.clone().narrow(1, k * h, h);
            let hidden_q = quantize_hidden(hidden.clone());
            let (update, new_input) = if self.reset_after {
                // One recurrent product for all three gates.
                let recurrent = hidden_q.matmul(recurrent_t.clone());
                let update = sigmoid(x_gate(0) + recurrent.clone().narrow(1, 0, h));
                let reset = sigmoid(x_gate(1) + recurrent.clone().narrow(1, h, h));
                let recurrent_new = recurrent.narrow(1, 2 * h, h);
                let recurrent_new = match &new_bias {
                    Some(b) => recurrent_new + b.clone(),
                    None => recurrent_new,
                };
                (update, x_gate(2) + reset * recurrent_new)
            } else {
                let recurrent = hidden_q.matmul(recurrent_t.clone().narrow(1, 0, 2 * h));
                let update = sigmoid(x_gate(0) + recurrent.clone().narrow(1, 0, h));
                let reset = sigmoid(x_gate(1) + recurrent.narrow(1, h, h));
                // The reset state is a new vector entering a product: quantize it too.
                let reset_hidden = quantize_hidden(reset * hidden.clone());
                let recurrent_new = reset_hidden.matmul(recurrent_t.clone().narrow(1, 2 * h, h));
                (update, x_gate(2) + recurrent_new)
            };
            let candidate = new_input.tanh();
            let keep = update.clone().neg().add_scalar(1.0);
            hidden = candidate * keep + update * hidden;
            outputs.push(hidden.clone());
        }
        stack_steps(outputs, [batch, seq, h], &device)
    }

    /// The input weights the forward pass uses, `[3h, d_input]`, without gradient.
    pub fn effective_input_weight(&self) -> Tensor<2> {
        effective_weight(self.quantizers.weight.as_ref(), &self.input_weight)
    }

    /// The recurrent weights the forward pass uses, `[3h, h]`, without gradient.
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
