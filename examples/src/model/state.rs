//! The recurrent state carried from one BPTT window to the next.

use burn::nn::LstmState;
use burn::prelude::*;

/// Hidden (and, for an LSTM, cell) state of a batch of streams, `[streams, d_hidden]` each.
#[derive(Debug, Clone)]
pub enum RnnState {
    /// LSTM hidden and cell state.
    Lstm(LstmState<2>),
    /// GRU hidden state.
    Gru(Tensor<2>),
}

impl RnnState {
    /// The same values cut from the autodiff graph (truncated BPTT: gradients stop at the
    /// window boundary).
    pub fn detach(self) -> Self {
        match self {
            RnnState::Lstm(s) => RnnState::Lstm(LstmState::new(s.cell.detach(), s.hidden.detach())),
            RnnState::Gru(h) => RnnState::Gru(h.detach()),
        }
    }

    /// Number of streams.
    pub fn streams(&self) -> usize {
        match self {
            RnnState::Lstm(s) => s.hidden.dims()[0],
            RnnState::Gru(h) => h.dims()[0],
        }
    }
}
