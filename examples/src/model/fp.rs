//! The full-precision language model, built from `burn::nn` layers.

use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Gru, GruConfig, Initializer, Linear,
    LinearConfig, Lstm, LstmConfig,
};
use burn::prelude::*;
use burn::tensor::Int;

use super::LmForward;
use super::config::{CellKind, LmConfig};
use super::state::RnnState;
use crate::error as ex;

/// The recurrent layer of a [`FpLanguageModel`].
#[derive(Module, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per model; the Module derive does not support boxed fields"
)]
pub enum FpRnn {
    /// An LSTM.
    Lstm(Lstm),
    /// A GRU.
    Gru(Gru),
}

/// Embedding → dropout → LSTM/GRU → dropout → linear decoder, all in f32.
#[derive(Module, Debug)]
pub struct FpLanguageModel {
    /// Word embedding `[vocab, d_embedding]`.
    pub embedding: Embedding,
    /// The recurrent layer.
    pub rnn: FpRnn,
    /// Dropout on the embedding and on the recurrent output (inactive without autodiff).
    pub dropout: Dropout,
    /// Decoder `d_hidden → vocab`.
    pub decoder: Linear,
}

/// Initial range of the embedding and decoder weights, `U(−0.1, 0.1)` (the customary
/// word-LM initialisation; recurrent weights keep burn's Xavier default).
const INIT_RANGE: f64 = 0.1;

impl LmConfig {
    /// A freshly initialised full-precision model on `device`.
    pub fn init_fp(&self, device: &Device) -> ex::Result<FpLanguageModel> {
        self.validate()?;
        let uniform = Initializer::Uniform {
            min: -INIT_RANGE,
            max: INIT_RANGE,
        };
        let embedding = EmbeddingConfig::new(self.vocab_size, self.d_embedding)
            .with_initializer(uniform.clone())
            .init(device);
        let rnn = match self.cell {
            CellKind::Lstm => {
                FpRnn::Lstm(LstmConfig::new(self.d_embedding, self.d_hidden, true).init(device))
            }
            CellKind::Gru => {
                FpRnn::Gru(GruConfig::new(self.d_embedding, self.d_hidden, true).init(device))
            }
        };
        let decoder = LinearConfig::new(self.d_hidden, self.vocab_size)
            .with_initializer(uniform)
            .init(device);
        Ok(FpLanguageModel {
            embedding,
            rnn,
            dropout: DropoutConfig::new(self.dropout).init(),
            decoder,
        })
    }
}

impl LmForward for FpLanguageModel {
    fn forward_window(
        &self,
        inputs: Tensor<2, Int>,
        state: Option<RnnState>,
    ) -> (Tensor<3>, RnnState) {
        let x = self.dropout.forward(self.embedding.forward(inputs));
        let (hidden, state) = match &self.rnn {
            FpRnn::Lstm(lstm) => {
                let (out, state) = lstm.forward(x, state.and_then(RnnState::into_lstm));
                (out, RnnState::lstm(state))
            }
            FpRnn::Gru(gru) => {
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
