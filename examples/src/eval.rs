//! Perplexity of the three kinds of model on a split, with the hidden state carried across
//! the whole split (each stream is one long sequence).

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, TensorData};

use crate::data::Streams;
use crate::error::{Error, Result};
use crate::model::{LmForward, PackedLanguageModel, RnnState};

/// Accumulated negative log-likelihood (nats) over a number of predicted tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Perplexity {
    /// `Σ −ln p(target)`.
    pub nll_sum: f64,
    /// Number of predictions.
    pub tokens: usize,
}

impl Perplexity {
    /// Mean negative log-likelihood per token (cross-entropy in nats).
    pub fn mean_nll(&self) -> f64 {
        if self.tokens == 0 {
            f64::NAN
        } else {
            self.nll_sum / self.tokens as f64
        }
    }

    /// `exp(mean NLL)`.
    pub fn value(&self) -> f64 {
        self.mean_nll().exp()
    }

    /// Adds another accumulation.
    pub fn add(&mut self, nll_sum: f64, tokens: usize) {
        self.nll_sum += nll_sum;
        self.tokens += tokens;
    }
}

/// `Σ −ln softmax(logits)[target]` over all positions: logits `[b, s, v]`, targets `[b, s]`
/// → a one-element tensor.
pub fn window_nll(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [b, s, v] = logits.dims();
    let log_probs = log_softmax(logits.reshape([b * s, v]), 1);
    let picked = log_probs.gather(1, targets.reshape([b * s, 1]));
    picked.sum().neg()
}

/// An int tensor `[rows, cols]` of ids.
pub fn id_tensor(ids: &[u32], rows: usize, cols: usize, device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    Tensor::from_data(TensorData::new(ids, [rows, cols]), device)
}

/// Perplexity of a tensor model (f32 or fake-quantized) on `streams`, in windows of
/// `bptt` steps with the state carried over; `device` should be a plain (non-autodiff)
/// device, where dropout is off.
pub fn evaluate<M: LmForward>(
    model: &M,
    streams: &Streams,
    bptt: usize,
    device: &Device,
) -> Result<Perplexity> {
    if bptt == 0 {
        return Err(Error::InvalidArgument("bptt must be at least 1".into()));
    }
    let mut total = Perplexity::default();
    let mut state: Option<RnnState> = None;
    for index in 0..streams.windows(bptt) {
        let Some(window) = streams.window(index, bptt) else {
            break;
        };
        let inputs = id_tensor(&window.inputs, window.streams, window.seq, device);
        let targets = id_tensor(&window.targets, window.streams, window.seq, device);
        let (logits, next) = model.forward_window(inputs, state);
        state = Some(next.detach());
        let nll: f64 = window_nll(logits, targets).into_scalar::<f32>().into();
        total.add(nll, window.targets.len());
    }
    Ok(total)
}

/// `logsumexp(row) − row[target]` in f64.
fn token_nll(row: &[f32], target: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = row.iter().map(|&x| f64::from(x - max).exp()).sum();
    f64::from(max) + sum.ln() - f64::from(row[target])
}

/// Perplexity of the packed model on `streams`, step by step (the same function as
/// [`evaluate`] of the quantized model it was packed from).
pub fn evaluate_packed(model: &mut PackedLanguageModel, streams: &Streams) -> Result<Perplexity> {
    let batch = streams.streams();
    let vocab = model.vocab_size();
    let mut state = model.zero_state(batch);
    let mut logits = vec![0.0f32; batch * vocab];
    let mut tokens = vec![0u32; batch];
    let mut total = Perplexity::default();
    for t in 0..streams.len() - 1 {
        for (s, token) in tokens.iter_mut().enumerate() {
            *token = streams.row(s)[t];
        }
        model.step(&tokens, &mut state, &mut logits)?;
        let mut nll = 0.0;
        for s in 0..batch {
            let target = streams.row(s)[t + 1] as usize;
            if target >= vocab {
                return Err(burn_amq::Error::IndexOutOfRange {
                    index: target,
                    rows: vocab,
                }
                .into());
            }
            nll += token_nll(&logits[s * vocab..][..vocab], target);
        }
        total.add(nll, batch);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_nll_matches_definition() {
        let row = [1.0f32, 2.0, 3.0];
        let z: f64 = row.iter().map(|&x| f64::from(x).exp()).sum();
        let expected = -(3.0f64.exp() / z).ln();
        assert!((token_nll(&row, 2) - expected).abs() < 1e-12);
    }

    #[test]
    fn window_nll_of_uniform_logits_is_ln_v() {
        let device = Device::flex();
        let logits = Tensor::<3>::zeros([2, 3, 5], &device);
        let targets = id_tensor(&[0, 1, 2, 3, 4, 0], 2, 3, &device);
        let nll: f32 = window_nll(logits, targets).into_scalar();
        assert!((nll - 6.0 * 5f32.ln()).abs() < 1e-4);
    }

    #[test]
    fn perplexity_arithmetic() {
        let mut p = Perplexity::default();
        assert!(p.value().is_nan());
        p.add(2.0 * 10f64.ln(), 2);
        assert!((p.value() - 10.0).abs() < 1e-9);
    }
}
