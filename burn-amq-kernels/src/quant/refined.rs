//! Refined greedy (Guo et al. 2017; paper eq. 5): greedy steps, and after each step `j` all
//! of `α₁..αⱼ` are refitted by least squares on the fixed planes. Planes are never
//! recomputed, which is the weakness the alternating method fixes.

use super::kernel::Kern;
use super::lsq::Normal;

/// Refined greedy into `alphas`/`planes` (unsorted, α may be negative: the caller
/// canonicalises). `r` is scratch of length `w.len()`.
pub(crate) fn refined(
    kern: Kern,
    w: &[f32],
    alphas: &mut [f32],
    planes: &mut [u64],
    words: usize,
    r: &mut [f32],
    normal: &mut Normal,
) {
    let n = w.len();
    let k = alphas.len();
    r.copy_from_slice(w);
    for j in 0..k {
        let s = kern.sign_abs_sum(r, &mut planes[j * words..(j + 1) * words]);
        alphas[j] = (s / n as f64) as f32;
        normal.set_gram_column(n, planes, words, j);
        if j == 0 {
            // b₁ = sign(w), so b₁·w = Σ|w| = s; the one-plane least-squares fit is the greedy
            // α itself, no refit needed.
            normal.c[0] = s;
        } else {
            // Earlier planes are fixed, so only the new plane's Bᵀw entry is new.
            kern.plane_dots(
                w,
                &planes[j * words..(j + 1) * words],
                words,
                &mut normal.c[j..=j],
            );
            normal.refit(n, &mut alphas[..=j]);
        }
        if j + 1 < k {
            kern.residual(w, planes, words, &alphas[..=j], r);
        }
    }
}
