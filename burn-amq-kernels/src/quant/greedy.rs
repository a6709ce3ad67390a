//! Greedy residual binarisation (Guo et al. 2017; paper eq. 3–4), also the initialisation of
//! the alternating method.

use super::kernel::Kern;

/// `r ← w`; for each plane `i`: `bᵢ = sign(r)`, `αᵢ = mean|r|`, `r ← r − αᵢ bᵢ`.
///
/// Writes `alphas` (all `≥ 0`, *not* necessarily sorted: the mean residual can grow), the
/// planes (`[plane][word]`) and `dots[i] = bᵢ·w` (for a least-squares step that may follow).
/// The residual is never stored: each pass recomputes it from `w` (see
/// [`Kern::greedy_pass`]).
pub(crate) fn greedy(
    kern: Kern,
    w: &[f32],
    alphas: &mut [f32],
    planes: &mut [u64],
    words: usize,
    dots: &mut [f64],
) {
    let n = w.len() as f64;
    for i in 0..alphas.len() {
        let (prior, rest) = planes.split_at_mut(i * words);
        let (abs_sum, dot) = kern.greedy_pass(w, prior, words, &alphas[..i], &mut rest[..words]);
        alphas[i] = (abs_sum / n) as f32;
        dots[i] = dot;
    }
}
