//! The packed language model: CPU inference on bit planes, one time step at a time.

use burn_amq::packed::{PackedEmbedding, PackedGru, PackedLinear, PackedLstm, PackedLstmState};
use burn_amq_kernels::words_for;

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
    storage_bytes: usize,
    /// `[batch][d_embedding]` embedded inputs of the current step.
    x: Vec<f32>,
}

/// Bytes of a `[rows, n]` matrix with `bits` planes: the planes (64-bit words per row and
/// plane) plus one f32 coefficient per row and plane.
pub fn packed_matrix_bytes(rows: usize, n: usize, bits: usize) -> usize {
    rows * bits * (words_for(n) * 8 + 4)
}

impl PackedLanguageModel {
    /// Packs every layer of `model` (the seam for a packed model file: whatever stores the
    /// packed layers on disk rebuilds this same struct).
    ///
    /// Errors: [`burn_amq::Error::NotQuantized`] (as [`crate::Error::Amq`]) if a layer has
    /// full-precision weights; kernel errors for non-finite weights.
    pub fn from_quantized(model: &QuantLanguageModel) -> Result<Self> {
        let embedding = model.embedding.pack()?;
        let bits = |q: Option<burn_amq::Quantizer>| q.map_or(32, |q| q.bits());
        let [vocab, d_emb] = model.embedding.weight.dims();
        let mut storage =
            packed_matrix_bytes(vocab, d_emb, bits(model.embedding.weight_quantizer()));
        let rnn = match &model.rnn {
            QuantRnn::Lstm(lstm) => {
                let w = bits(lstm.weight_quantizer());
                let [rows, d_in] = lstm.input_weight.dims();
                storage += packed_matrix_bytes(rows, d_in, w)
                    + packed_matrix_bytes(rows, lstm.d_hidden, w)
                    + lstm.bias.as_ref().map_or(0, |b| 4 * b.dims()[0]);
                PackedRnn::Lstm(lstm.pack()?)
            }
            QuantRnn::Gru(gru) => {
                let w = bits(gru.weight_quantizer());
                let [rows, d_in] = gru.input_weight.dims();
                storage += packed_matrix_bytes(rows, d_in, w)
                    + packed_matrix_bytes(rows, gru.d_hidden, w)
                    + gru.bias.as_ref().map_or(0, |b| 4 * b.dims()[0])
                    + gru
                        .recurrent_new_bias
                        .as_ref()
                        .map_or(0, |b| 4 * b.dims()[0]);
                PackedRnn::Gru(gru.pack()?)
            }
        };
        let [d_out, d_in] = model.decoder.weight.dims();
        storage += packed_matrix_bytes(d_out, d_in, bits(model.decoder.weight_quantizer()))
            + model.decoder.bias.as_ref().map_or(0, |b| 4 * b.dims()[0]);
        Ok(Self {
            embedding,
            rnn,
            decoder: model.decoder.pack()?,
            storage_bytes: storage,
            x: Vec::new(),
        })
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
        self.storage_bytes
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
        let ids: Vec<usize> = tokens.iter().map(|&t| t as usize).collect();
        self.embedding.lookup(&ids, x)?;
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
