//! The quantized language model, built from burn-amq's layers.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Initializer};
use burn::prelude::*;
use burn::tensor::Int;
use burn_amq::nn::{
    QuantEmbedding, QuantEmbeddingConfig, QuantGru, QuantGruConfig, QuantLinear, QuantLinearConfig,
    QuantLstm, QuantLstmConfig,
};

use super::LmForward;
use super::config::{CellKind, LmConfig, QuantSpec};
use super::fp::{FpLanguageModel, FpRnn};
use super::state::RnnState;
use crate::error::Result;

/// The recurrent layer of a [`QuantLanguageModel`].
#[derive(Module, Debug)]
pub enum QuantRnn {
    /// A quantized LSTM.
    Lstm(QuantLstm),
    /// A quantized GRU.
    Gru(QuantGru),
}

/// The [`FpLanguageModel`] architecture with every weight matrix row-wise quantized and the
/// hidden state quantized online (fake quantization with the straight-through estimator;
/// the shadow weights stay f32 parameters).
#[derive(Module, Debug)]
pub struct QuantLanguageModel {
    /// Quantized embedding: every looked-up row is a `weight_bits` code.
    pub embedding: QuantEmbedding,
    /// Quantized LSTM or GRU.
    pub rnn: QuantRnn,
    /// Dropout (training only).
    pub dropout: Dropout,
    /// Quantized decoder; its input (the hidden output) is activation-quantized.
    pub decoder: QuantLinear,
}

impl QuantLanguageModel {
    /// Converts a trained full-precision model (copies of its parameters, fused gates).
    ///
    /// Errors: bit widths outside `1..=8` ([`crate::Error::Amq`]).
    pub fn from_fp(fp: &FpLanguageModel, spec: &QuantSpec) -> Result<Self> {
        let rnn = match &fp.rnn {
            FpRnn::Lstm(lstm) => QuantRnn::Lstm(QuantLstm::from_lstm(lstm, &spec.recurrent())?),
            FpRnn::Gru(gru) => QuantRnn::Gru(QuantGru::from_gru(gru, &spec.recurrent())?),
        };
        Ok(Self {
            embedding: QuantEmbedding::from_embedding(&fp.embedding, &spec.embedding())?,
            rnn,
            dropout: DropoutConfig::new(fp.dropout.prob).init(),
            decoder: QuantLinear::from_linear(&fp.decoder, &spec.decoder())?,
        })
    }

    /// The same model with dropout probability `prob` (e.g. lighter dropout for
    /// fine-tuning, since quantization already regularizes); the caller checks `prob`.
    pub fn with_dropout(mut self, prob: f64) -> Self {
        self.dropout = DropoutConfig::new(prob).init();
        self
    }
}

impl LmConfig {
    /// A freshly initialised quantized model (the shape a fine-tuned checkpoint loads into).
    pub fn init_quant(&self, spec: &QuantSpec, device: &Device) -> Result<QuantLanguageModel> {
        self.validate()?;
        let emb = spec.embedding();
        let rec = spec.recurrent();
        let dec = spec.decoder();
        let embedding = QuantEmbeddingConfig::new(self.vocab_size, self.d_embedding)
            .with_weight_bits(emb.weight_bits)
            .with_method(emb.method)
            .with_initializer(Initializer::Uniform {
                min: -0.1,
                max: 0.1,
            })
            .init(device)?;
        let rnn = match self.cell {
            CellKind::Lstm => QuantRnn::Lstm(
                QuantLstmConfig::new(self.d_embedding, self.d_hidden, true)
                    .with_weight_bits(rec.weight_bits)
                    .with_act_bits(rec.act_bits)
                    .with_method(rec.method)
                    .with_quantize_input(rec.quantize_input)
                    .init(device)?,
            ),
            CellKind::Gru => QuantRnn::Gru(
                QuantGruConfig::new(self.d_embedding, self.d_hidden, true)
                    .with_weight_bits(rec.weight_bits)
                    .with_act_bits(rec.act_bits)
                    .with_method(rec.method)
                    .with_quantize_input(rec.quantize_input)
                    .init(device)?,
            ),
        };
        let decoder = QuantLinearConfig::new(self.d_hidden, self.vocab_size)
            .with_weight_bits(dec.weight_bits)
            .with_act_bits(dec.act_bits)
            .with_method(dec.method)
            .with_quantize_input(dec.quantize_input)
            .init(device)?;
        Ok(QuantLanguageModel {
            embedding,
            rnn,
            dropout: DropoutConfig::new(self.dropout).init(),
            decoder,
        })
    }
}

impl QuantLanguageModel {
    /// The decoder's input as the decoder sees it: the hidden output activation-quantized,
    /// then dropped out (dropout is inactive without autodiff).
    ///
    /// Quantizing before dropout keeps training on the codes that evaluation and the packed
    /// model use. In the other order the quantizer would get vectors with half their entries
    /// zero and the rest doubled; with 2 bits it then places its four values at about
    /// `{−2a, 0, 0, +2a}` and the surviving entries keep one bit, so the network would be
    /// trained under a coarser quantization than it is evaluated with.
    pub fn decoder_input(&self, hidden: Tensor<3>) -> Tensor<3> {
        self.dropout.forward(self.decoder.quantize_input(hidden))
    }

    fn decoder_forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        self.decoder
            .forward_prequantized(self.decoder_input(hidden))
    }
}

impl LmForward for QuantLanguageModel {
    fn forward_window(
        &self,
        inputs: Tensor<2, Int>,
        state: Option<RnnState>,
    ) -> (Tensor<3>, RnnState) {
        let x = self.dropout.forward(self.embedding.forward(inputs));
        let (hidden, state) = match &self.rnn {
            QuantRnn::Lstm(lstm) => {
                let (out, state) = lstm.forward(x, state.and_then(RnnState::into_lstm));
                (out, RnnState::lstm(state))
            }
            QuantRnn::Gru(gru) => {
                let out = gru.forward(x, state.map(|s| s.hidden));
                let last = super::last_step(&out);
                (out, RnnState::gru(last))
            }
        };
        (self.decoder_forward(hidden), state)
    }

    fn vocab_size(&self) -> usize {
        self.embedding.weight.dims()[0]
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    /// Training must drop out the quantized hidden vector, not quantize the dropped one: every
    /// entry the decoder sees is either dropped (0) or the quantized entry scaled by
    /// `1 / (1 − p)`.
    #[test]
    fn decoder_input_is_quantized_before_dropout() {
        let device = Device::flex().autodiff();
        let config = LmConfig::new(12)
            .with_d_embedding(8)
            .with_d_hidden(40)
            .with_dropout(0.5);
        let model = config
            .init_quant(&QuantSpec::new().with_act_bits(Some(2)), &device)
            .unwrap();
        let hidden = Tensor::<3>::random([3, 4, 40], Distribution::Uniform(-1.0, 1.0), &device);
        let quantized: Vec<f32> = model
            .decoder
            .quantize_input(hidden.clone())
            .into_data()
            .try_to_vec()
            .unwrap();
        let seen: Vec<f32> = model
            .decoder_input(hidden)
            .into_data()
            .try_to_vec()
            .unwrap();
        let (mut dropped, mut kept) = (0, 0);
        for (&s, &q) in seen.iter().zip(&quantized) {
            if s == 0.0 {
                dropped += 1;
            } else {
                assert!(
                    (s - 2.0 * q).abs() <= 1e-5 * q.abs().max(1.0),
                    "{s} vs 2 × {q}"
                );
                kept += 1;
            }
        }
        // 480 entries at p = 0.5: both counts are far from 0 unless dropout is off.
        assert!(
            dropped > 100 && kept > 100,
            "dropped {dropped}, kept {kept}"
        );
    }
}
