//! Quantized layers: drop-in counterparts of `burn::nn::{Linear, Embedding, Lstm, Gru}`.
//!
//! All layers keep full-precision ("shadow") weights as parameters and quantize them row-wise
//! (one coefficient vector per output unit) with the straight-through estimator in every
//! forward pass. Weights are stored output-unit-major (`[d_output, d_input]`, for recurrent
//! layers `[gates · d_hidden, d_in]`) so each quantized row is one output unit.
//!
//! Activation quantization points (when `act_bits` is set):
//! - [`QuantLinear`]: its input `x`, per vector (unless `quantize_input` is false).
//! - [`QuantLstm`] / [`QuantGru`]: the hidden state `h_{t−1}` before the recurrent product at
//!   every step (GRU with `reset_after = false`: the vector `r_t ⊙ h_{t−1}` that enters the
//!   new-gate product as well), and the input `x_t` before the input product unless
//!   `quantize_input` is false — set it to false when `x` comes from a [`QuantEmbedding`],
//!   whose rows are already quantized (the paper: `x_t` "needs no more quantization").
//! - [`QuantEmbedding`]: none; its output rows are quantized weights.
//!
//! Gates, cell state, biases and nonlinearities stay in full precision.
//!
//! Dropout in front of a layer with a quantized input belongs after the quantization:
//! `layer.forward_prequantized(dropout.forward(layer.quantize_input(x)))` (see
//! [`QuantLinear::forward_prequantized`]); then training quantizes the same vectors that
//! evaluation and the packed model do.

mod embedding;
mod gru;
mod linear;
mod lstm;
mod quantization;
mod recurrent;

pub use embedding::{QuantEmbedding, QuantEmbeddingConfig};
pub use gru::{QuantGru, QuantGruConfig};
pub use linear::{QuantLinear, QuantLinearConfig};
pub use lstm::{QuantLstm, QuantLstmConfig};
pub use quantization::QuantizationConfig;
pub(crate) use quantization::{LayerQuantizers, effective_weight, new_param};
