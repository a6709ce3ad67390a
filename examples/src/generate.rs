//! Sampling text from a packed model, one token at a time.

use rand::Rng;

use crate::data::Vocabulary;
use crate::error::{Error, Result};
use crate::model::PackedLanguageModel;

/// Feeds `prompt` (the `<eos>` token when empty) through `model`, then samples `count`
/// tokens from `softmax(logits / temperature)` (`<unk>` excluded), calling `emit` with each
/// sampled word as soon as it is drawn. Returns the sampled ids.
///
/// Errors: [`Error::InvalidArgument`] for a temperature that is not positive; model errors.
pub fn generate<R: Rng>(
    model: &mut PackedLanguageModel,
    vocab: &Vocabulary,
    prompt: &[u32],
    count: usize,
    temperature: f64,
    rng: &mut R,
    mut emit: impl FnMut(&str),
) -> Result<Vec<u32>> {
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "temperature must be positive, got {temperature}"
        )));
    }
    let v = model.vocab_size();
    vocab.check_size(v, "the vocabulary")?;
    let mut state = model.zero_state(1);
    let mut logits = vec![0.0f32; v];
    let start = [vocab.eos_id()];
    let prompt = if prompt.is_empty() {
        &start[..]
    } else {
        prompt
    };
    for &token in prompt {
        model.step(&[token], &mut state, &mut logits)?;
    }
    let unk = vocab.unk_id() as usize;
    let mut out = Vec::with_capacity(count);
    let mut weights = vec![0.0f64; v];
    for _ in 0..count {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        for (i, (w, &l)) in weights.iter_mut().zip(&logits).enumerate() {
            *w = if i == unk {
                0.0
            } else {
                (f64::from(l - max) / temperature).exp()
            };
            total += *w;
        }
        let mut target = rng.random::<f64>() * total;
        let mut token = v - 1;
        for (i, &w) in weights.iter().enumerate() {
            if target < w {
                token = i;
                break;
            }
            target -= w;
        }
        let id = token as u32;
        emit(vocab.word(id).unwrap_or("<?>"));
        out.push(id);
        model.step(&[id], &mut state, &mut logits)?;
    }
    Ok(out)
}
