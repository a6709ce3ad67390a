//! The language models: full precision ([`FpLanguageModel`]), fake-quantized for training
//! ([`QuantLanguageModel`]) and packed for CPU inference ([`PackedLanguageModel`]).

pub mod config;
pub mod fp;
pub mod packed;
pub mod quant;
pub mod state;

use burn::prelude::*;
use burn::tensor::Int;

pub use config::{CellKind, LmConfig, QuantSpec};
pub use fp::{FpLanguageModel, FpRnn};
pub use packed::{PackedLanguageModel, PackedRnn, PackedState};
pub use quant::{QuantLanguageModel, QuantRnn};
pub use state::RnnState;

/// What training and evaluation need from a language model made of Burn tensors.
pub trait LmForward {
    /// Runs a window of input ids `[streams, seq]` from `state` (zeros when `None`); returns
    /// the logits `[streams, seq, vocab]` and the state after the last step.
    fn forward_window(
        &self,
        inputs: Tensor<2, Int>,
        state: Option<RnnState>,
    ) -> (Tensor<3>, RnnState);

    /// Vocabulary size.
    fn vocab_size(&self) -> usize;
}

/// The last time step of `[batch, seq, h]` as `[batch, h]` (`seq ≥ 1`).
pub(crate) fn last_step(out: &Tensor<3>) -> Tensor<2> {
    let [_, seq, _] = out.dims();
    out.clone()
        .narrow(1, seq.saturating_sub(1), 1)
        .squeeze_dim(1)
}
