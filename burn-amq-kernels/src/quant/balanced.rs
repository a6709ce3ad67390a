//! Balanced quantization (after Zhou et al. 2017, as summarised in the paper §2) in BCQ form.
//!
//! Choices made here (the paper only says "intervals holding the same share of the data,
//! mapped linearly onto the uniform codes"):
//! - **bins by rank**: with `m = 2ᵏ` bins, the entry of rank `r` (0-based, ascending) goes to
//!   bin `t = ⌊(r + ½)·m/n⌋`, so every bin holds `⌊n/m⌋` or `⌈n/m⌉` entries. Equal values
//!   share the mid rank of their group, so they always land in the same bin (a constant row
//!   is one bin);
//! - bin `t` maps to the uniform level `u_t = 2t/(m−1) − 1 ∈ [−1, 1]`;
//! - the scale is the least-squares fit `s = Σ w·u / Σ u²` (`u_t ≠ 0` since `m − 1` is
//!   odd); if it comes out negative, levels are mirrored (`t → m−1−t`, i.e. every plane
//!   complemented) and `s → −s`, which represents the same values;
//! - the result is written as the BCQ code of [`super::uniform`]: `αᵢ = s·2^{k−i}/(2ᵏ−1)`.
//!
//! A zero row gets `s = 0` and all planes +1.

use super::engine::{set_all_ones, tail_mask};
use super::uniform::{level_alphas, set_level};

/// Balanced quantization of `w`; `order` is a reusable index buffer.
pub(crate) fn balanced(
    w: &[f32],
    alphas: &mut [f32],
    planes: &mut [u64],
    words: usize,
    order: &mut Vec<u32>,
) {
    let n = w.len();
    let k = alphas.len();
    let bins = 1u64 << k;
    let top = (bins - 1) as u32;
    order.clear();
    order.extend(0..n as u32);
    // Values are finite (checked by the caller), so `partial_cmp` is total here.
    order.sort_unstable_by(|&a, &b| {
        w[a as usize]
            .partial_cmp(&w[b as usize])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    planes[..k * words].fill(0);
    let (mut swu, mut suu) = (0.0f64, 0.0f64);
    let mut g0 = 0;
    while g0 < n {
        let v = w[order[g0] as usize];
        let mut g1 = g0 + 1;
        while g1 < n && w[order[g1] as usize] == v {
            g1 += 1;
        }
        // Mid rank of the tie group, plus one half: (g0 + g1 − 1)/2 + 1/2 = (g0 + g1)/2.
        let pos = (g0 + g1) as f64 * 0.5 * bins as f64 / n as f64;
        let t = (pos.floor() as u64).min(bins - 1) as u32;
        let u = 2.0 * f64::from(t) / f64::from(top) - 1.0;
        for &j in &order[g0..g1] {
            set_level(planes, words, k, j as usize, t);
        }
        let cnt = (g1 - g0) as f64;
        swu += cnt * f64::from(v) * u;
        suu += cnt * u * u;
        g0 = g1;
    }
    let mut s = swu / suu;
    if s == 0.0 || !s.is_finite() {
        // Zero row (or a fit that cancels exactly): every entry on the top level, α = 0.
        s = 0.0;
        set_all_ones(&mut planes[..k * words], words, n);
    } else if s < 0.0 {
        s = -s;
        let mask = tail_mask(n);
        for plane in planes[..k * words].chunks_exact_mut(words) {
            for word in plane.iter_mut() {
                *word = !*word;
            }
            plane[words - 1] &= mask;
        }
    }
    level_alphas(s, alphas);
}
