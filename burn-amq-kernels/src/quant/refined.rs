//! Refined greedy (Guo et al. 2017; paper eq. 5): greedy steps, and after each step `j` all
//! of `α₁..αⱼ` are refitted by least squares on the fixed planes. Planes are never
//! recomputed, which is the weakness the alternating method fixes.

use super::kernel::Kern;
use super::lsq::Normal;

/// Refined greedy into `alphas`/`planes` (unsorted, α may be negative: the caller
/// canonicalises).
pub(crate) fn refined(
    kern: Kern,
    w: &[f32],
    alphas: &mut [f32],
    planes: &mut [u64],
    words: usize,
    normal: &mut Normal,
) {
    let n = w.len();
    for j in 0..alphas.len() {
        // The residual of the *refitted* α so far, signed into the new plane.
        let (prior, rest) = planes.split_at_mut(j * words);
        let (abs_sum, dot) = kern.greedy_pass(w, prior, words, &alphas[..j], &mut rest[..words]);
        alphas[j] = (abs_sum / n as f64) as f32;
        // Earlier planes are fixed: only the new row/column of BᵀB and entry of Bᵀw are new.
        normal.c[j] = dot;
        normal.set_gram_column(kern, n, planes, words, j);
        if j > 0 {
            // (For j = 0 the one-plane least-squares fit is the greedy α itself.)
            normal.refit(n, &mut alphas[..=j]);
        }
    }
}
