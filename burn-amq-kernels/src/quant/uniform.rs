//! Uniform quantization (Hubara et al. 2016, as defined in the paper §2) in BCQ form.
//!
//! With `s = max|w|` and `L = 2ᵏ − 1`, entry `w` goes to level `t = round((w/s + 1)·L/2)`
//! (half away from zero, clamped to `0..=L`), whose value is `s·(2t/L − 1)`. Writing `t` in
//! binary, `t = Σᵢ tᵢ 2^{k−i}`, that value is `Σᵢ αᵢ (2tᵢ − 1)` with `αᵢ = s·2^{k−i}/L`: a
//! binary code whose plane `i` holds bit `k − i` of `t`, with descending α. The balanced
//! method uses the same form.

/// `αᵢ = scale · 2^{k−i} / (2ᵏ − 1)`, `i = 1..k` (descending).
pub(crate) fn level_alphas(scale: f64, alphas: &mut [f32]) {
    let k = alphas.len();
    let levels = ((1u32 << k) - 1) as f64;
    for (i, a) in alphas.iter_mut().enumerate() {
        *a = (scale * f64::from(1u32 << (k - 1 - i)) / levels) as f32;
    }
}

/// Sets the planes of entry `j` to level `t` (plane `i` ← bit `k − 1 − i` of `t`, 0-based).
/// The planes must start cleared.
#[inline]
pub(crate) fn set_level(planes: &mut [u64], words: usize, k: usize, j: usize, t: u32) {
    for i in 0..k {
        if (t >> (k - 1 - i)) & 1 == 1 {
            planes[i * words + j / 64] |= 1u64 << (j % 64);
        }
    }
}

/// `max|w|` (0 for an empty or all-zero `w`): the range of the uniform levels.
pub(crate) fn max_abs(w: &[f32]) -> f32 {
    w.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Uniform quantization of `w` into `alphas`/`planes`. A zero row gets `s = 0`, all α = 0
/// and every entry on the top level (all planes +1).
pub(crate) fn uniform(w: &[f32], alphas: &mut [f32], planes: &mut [u64], words: usize) {
    let k = alphas.len();
    let top = (1u32 << k) - 1;
    let s = max_abs(w);
    level_alphas(f64::from(s), alphas);
    planes[..k * words].fill(0);
    for (j, &v) in w.iter().enumerate() {
        let t = if s > 0.0 {
            let pos = (f64::from(v) / f64::from(s) + 1.0) * f64::from(top) * 0.5;
            pos.round().clamp(0.0, f64::from(top)) as u32
        } else {
            top
        };
        set_level(planes, words, k, j, t);
    }
}
