//! The packed language model: CPU inference on bit planes, one time step at a time.

use std::path::Path;

use burn_amq::packed::{
    LayerKind, PackedEmbedding, PackedGru, PackedLinear, PackedLstm, PackedLstmState, PackedModel,
    SizeReport,
};

use super::quant::{QuantLanguageModel, QuantRnn};
use crate::error::Result;

/// The recurrent layer of a [`PackedLanguageModel`].
#[derive(Debug, Clone)]
pub enum PackedRnn {
    /// A packed LSTM.
    Lstm(PackedLstm),
    /// A packed GRU.
    Gru(PackedGru),
}

/// The recurrent state of `batch` streams of a [`PackedLanguageModel`].
#[derive(Debug, Clone, PartialEq)]
pub struct PackedState {
    batch: usize,
    inner: PackedStateInner,
}

#[derive(Debug, Clone, PartialEq)]
enum PackedStateInner {
    Lstm(PackedLstmState),
    Gru(Vec<f32>),
}

impl PackedState {
    /// Number of streams.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Hidden state `[batch][d_hidden]`.
    pub fn hidden(&self) -> &[f32] {
        match &self.inner {
            PackedStateInner::Lstm(s) => s.hidden(),
            PackedStateInner::Gru(h) => h,
        }
    }
}

/// The quantized model packed for inference: embedding rows dequantized on lookup, the
/// recurrent products and the decoder on bit planes (popcount with quantized activations,
/// lookup tables with f32 inputs).
#[derive(Debug, Clone)]
pub struct PackedLanguageModel {
    embedding: PackedEmbedding,
    rnn: PackedRnn,
    decoder: PackedLinear,
    /// `[batch][d_embedding]` embedded inputs of the current step.
    x: Vec<f32>,
    /// `[batch]` token ids of the current step.
    ids: Vec<usize>,
}

/// Names of the layers in a packed language-model file.
const EMBEDDING: &str = "embedding";
const RNN: &str = "rnn";
const DECODER: &str = "decoder";
/// Metadata key naming what the file holds, and its value.
const KIND_KEY: &str = "model";
const KIND: &str = "burn_amq_examples::PackedLanguageModel";

impl PackedLanguageModel {
    /// Packs every layer of `model` with the default [`burn_amq::packed::PackOptions`].
    ///
    /// Errors: [`burn_amq::Error::NotQuantized`] (as [`crate::Error::Amq`]) if a layer has
    /// full-precision weights; kernel errors for non-finite weights.
    pub fn from_quantized(model: &QuantLanguageModel) -> Result<Self> {
        let rnn = match &model.rnn {
            QuantRnn::Lstm(lstm) => PackedRnn::Lstm(lstm.pack()?),
            QuantRnn::Gru(gru) => PackedRnn::Gru(gru.pack()?),
        };
        Self::from_layers(model.embedding.pack()?, rnn, model.decoder.pack()?)
    }

    /// Assembles a model from packed layers, checking that their sizes chain up:
    /// embedding width = recurrent input, recurrent hidden = decoder input, decoder output =
    /// vocabulary.
    pub fn from_layers(
        embedding: PackedEmbedding,
        rnn: PackedRnn,
        decoder: PackedLinear,
    ) -> Result<Self> {
        let (d_in, d_hidden) = match &rnn {
            PackedRnn::Lstm(l) => (l.d_input(), l.d_hidden()),
            PackedRnn::Gru(g) => (g.d_input(), g.d_hidden()),
        };
        let checks = [
            ("recurrent input", embedding.d_model(), d_in),
            ("decoder input", d_hidden, decoder.d_input()),
            (
                "decoder output",
                embedding.n_embedding(),
                decoder.d_output(),
            ),
        ];
        for (what, expected, actual) in checks {
            if expected != actual {
                return Err(burn_amq::Error::LengthMismatch {
                    what,
                    expected,
                    actual,
                }
                .into());
            }
        }
        Ok(Self {
            embedding,
            rnn,
            decoder,
            x: Vec::new(),
            ids: Vec::new(),
        })
    }

    /// The model as a [`PackedModel`] (layers `embedding`, `rnn`, `decoder`), the container
    /// [`save`](Self::save) writes.
    pub fn to_packed_model(&self) -> Result<PackedModel> {
        let mut model = PackedModel::new();
        model.insert(EMBEDDING, self.embedding.clone())?;
        match &self.rnn {
            PackedRnn::Lstm(l) => model.insert(RNN, l.clone())?,
            PackedRnn::Gru(g) => model.insert(RNN, g.clone())?,
        }
        model.insert(DECODER, self.decoder.clone())?;
        model.insert_meta(KIND_KEY, KIND);
        Ok(model)
    }

    /// The model stored in a [`PackedModel`] written by [`to_packed_model`](Self::to_packed_model).
    ///
    /// Errors (as [`crate::Error::Amq`]): a container of
    /// another kind, missing layers, layers of the wrong type or sizes that do not chain up.
    pub fn from_packed_model(mut model: PackedModel) -> Result<Self> {
        if model.meta(KIND_KEY) != Some(KIND) {
            return Err(burn_amq::Error::UnsupportedModule {
                module: "PackedLanguageModel",
                reason: format!(
                    "the packed model is not a language model (no {KIND_KEY} = {KIND})"
                ),
            }
            .into());
        }
        let embedding = model.take::<PackedEmbedding>(EMBEDDING)?;
        let rnn = match model.layer(RNN)?.kind() {
            LayerKind::Gru => PackedRnn::Gru(model.take::<PackedGru>(RNN)?),
            _ => PackedRnn::Lstm(model.take::<PackedLstm>(RNN)?),
        };
        let decoder = model.take::<PackedLinear>(DECODER)?;
        Self::from_layers(embedding, rnn, decoder)
    }

    /// Writes the model to a packed file (versioned and checksummed; see
    /// [`burn_amq::packed::file`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        Ok(self.to_packed_model()?.save(path)?)
    }

    /// Reads a model written by [`save`](Self::save). Truncated, corrupted or foreign files
    /// give typed errors.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_packed_model(PackedModel::load(path)?)
    }

    /// Stored size of every layer and the total, against the same parameters in f32.
    pub fn size_report(&self) -> SizeReport {
        let rnn = match &self.rnn {
            PackedRnn::Lstm(l) => l.size_report(),
            PackedRnn::Gru(g) => g.size_report(),
        };
        self.embedding.size_report() + rnn + self.decoder.size_report()
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.embedding.n_embedding()
    }

    /// Hidden size.
    pub fn d_hidden(&self) -> usize {
        match &self.rnn {
            PackedRnn::Lstm(l) => l.d_hidden(),
            PackedRnn::Gru(g) => g.d_hidden(),
        }
    }

    /// Bytes of the packed parameters: bit planes, their coefficients and the f32 biases.
    pub fn storage_bytes(&self) -> usize {
        self.size_report().packed_bytes()
    }

    /// The zero state of `batch` streams (what every sequence starts from).
    pub fn zero_state(&self, batch: usize) -> PackedState {
        let h = self.d_hidden();
        let inner = match &self.rnn {
            PackedRnn::Lstm(_) => PackedStateInner::Lstm(PackedLstmState::zeros(batch, h)),
            PackedRnn::Gru(_) => PackedStateInner::Gru(vec![0.0; batch * h]),
        };
        PackedState { batch, inner }
    }

    /// One time step for `state.batch()` streams: reads `tokens` (one id per stream),
    /// advances `state` and writes the next-token logits to `logits`
    /// (`[batch][vocab_size]`).
    ///
    /// Errors (as [`crate::Error::Amq`]): wrong `tokens` or `logits` length, an id outside
    /// the vocabulary, a state of another size.
    pub fn step(
        &mut self,
        tokens: &[u32],
        state: &mut PackedState,
        logits: &mut [f32],
    ) -> Result<()> {
        let batch = state.batch;
        if tokens.len() != batch {
            return Err(burn_amq::Error::LengthMismatch {
                what: "tokens",
                expected: batch,
                actual: tokens.len(),
            }
            .into());
        }
        let d = self.embedding.d_model();
        if self.x.len() < batch * d {
            self.x.resize(batch * d, 0.0);
        }
        let x = &mut self.x[..batch * d];
        self.ids.clear();
        self.ids.extend(tokens.iter().map(|&t| t as usize));
        self.embedding.lookup(&self.ids, x)?;
        match (&mut self.rnn, &mut state.inner) {
            (PackedRnn::Lstm(lstm), PackedStateInner::Lstm(s)) => lstm.step(x, s)?,
            (PackedRnn::Gru(gru), PackedStateInner::Gru(h)) => gru.step(x, batch, h)?,
            _ => {
                return Err(burn_amq::Error::UnsupportedModule {
                    module: "PackedLanguageModel",
                    reason: "the state belongs to the other kind of recurrent layer".into(),
                }
                .into());
            }
        }
        self.decoder.forward(state.hidden(), batch, logits)?;
        Ok(())
    }
}
