//! The recurrent state carried from one BPTT window to the next.

use burn::nn::LstmState;
use burn::prelude::*;

/// Hidden state of a batch of streams, `[streams, d_hidden]`, and for an LSTM its cell state
/// of the same shape.
#[derive(Debug, Clone)]
pub struct RnnState {
    /// Hidden state `h`.
    pub hidden: Tensor<2>,
    /// Cell state `c` (LSTM only).
    pub cell: Option<Tensor<2>>,
}

impl RnnState {
    /// The final state of an LSTM.
    pub fn lstm(state: LstmState<2>) -> Self {
        Self {
            hidden: state.hidden,
            cell: Some(state.cell),
        }
    }

    /// The final state of a GRU.
    pub fn gru(hidden: Tensor<2>) -> Self {
        Self { hidden, cell: None }
    }

    /// The LSTM state, `None` without a cell state.
    pub fn into_lstm(self) -> Option<LstmState<2>> {
        let hidden = self.hidden;
        self.cell.map(|cell| LstmState::new(cell, hidden))
    }

    /// The same values cut from the autodiff graph (truncated BPTT: gradients stop at the
    /// window boundary).
    pub fn detach(self) -> Self {
        Self {
            hidden: self.hidden.detach(),
            cell: self.cell.map(Tensor::detach),
        }
    }

    /// Number of streams.
    pub fn streams(&self) -> usize {
        self.hidden.dims()[0]
    }
}
