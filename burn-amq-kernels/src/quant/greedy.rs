//! Greedy residual binarisation (Guo et al. 2017; paper eq. 3–4), also the initialisation of
//! the alternating method.

use super::kernel::Kern;

/// `r ← w`; for each plane `i`: `bᵢ = sign(r)`, `αᵢ = mean|r|`, `r ← r − αᵢ bᵢ`.
///
/// Writes `alphas` (all `≥ 0`, *not* necessarily sorted: the mean residual can grow) and
/// the planes (`[plane][word]`). `r` is scratch of length `w.len()`.
pub(crate) fn greedy(
    kern: Kern,
    w: &[f32],
    alphas: &mut [f32],
    planes: &mut [u64],
    words: usize,
    r: &mut [f32],
) {
    let n = w.len() as f64;
    let k = alphas.len();
    r.copy_from_slice(w);
    for i in 0..k {
        let plane = &mut planes[i * words..(i + 1) * words];
        let a = (kern.sign_abs_sum(r, plane) / n) as f32;
        alphas[i] = a;
        if i + 1 < k {
            kern.sub_plane(r, plane, a);
        }
    }
}
