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
        (self.decoder.forward(self.dropout.forward(hidden)), state)
    }

    fn vocab_size(&self) -> usize {
        self.embedding.weight.dims()[0]
    }
}
