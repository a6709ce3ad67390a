//! Portable reference kernels for the quantizer passes.
//!
//! Sums run in [`LANES`] f64 accumulators (entry `j` goes to lane `j % LANES`) reduced by the
//! fixed tree [`reduce`]. That is exactly what the SIMD kernels do, so every tier gives
//! bit-identical α and codes; f64 keeps sums of up to 2²⁹ equal f32 values exact, which makes
//! constant rows come out exact.

use super::bst::CodeTable;

/// Number of partial sums (one AVX-512 register of f32 lanes).
pub(crate) const LANES: usize = 16;

/// Pairwise reduction of the lane accumulators, in a fixed order.
#[inline]
pub(crate) fn reduce(acc: &[f64; LANES]) -> f64 {
    let mut a = *acc;
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            a[i] += a[i + width];
        }
        width /= 2;
    }
    a[0]
}

#[inline]
fn bit(plane: &[u64], j: usize) -> bool {
    (plane[j / 64] >> (j % 64)) & 1 == 1
}

/// Writes `plane` = sign(r) (`r ≥ 0` → 1, so sign(0) = +1; padding 0) and returns `Σ|r|`.
pub(crate) fn sign_abs_sum(r: &[f32], plane: &mut [u64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    plane.fill(0);
    for (j, &v) in r.iter().enumerate() {
        acc[j % LANES] += f64::from(v.abs());
        if v >= 0.0 {
            plane[j / 64] |= 1u64 << (j % 64);
        }
    }
    reduce(&acc)
}

/// `r ← r − a·b` for the ±1 plane `b`.
pub(crate) fn sub_plane(r: &mut [f32], plane: &[u64], a: f32) {
    for (j, v) in r.iter_mut().enumerate() {
        *v -= if bit(plane, j) { a } else { -a };
    }
}

/// `out[i] = bᵢ · w` for the first `out.len()` planes of `planes` (`[plane][word]`).
pub(crate) fn plane_dots(w: &[f32], planes: &[u64], words: usize, out: &mut [f64]) {
    for (i, o) in out.iter_mut().enumerate() {
        let plane = &planes[i * words..(i + 1) * words];
        let mut acc = [0.0f64; LANES];
        for (j, &v) in w.iter().enumerate() {
            acc[j % LANES] += f64::from(if bit(plane, j) { v } else { -v });
        }
        *o = reduce(&acc);
    }
}

/// `r ← w − Σᵢ αᵢ bᵢ`, subtracting planes in order (the same rounding as repeated
/// [`sub_plane`]).
pub(crate) fn residual(w: &[f32], planes: &[u64], words: usize, alphas: &[f32], r: &mut [f32]) {
    r.copy_from_slice(w);
    for (i, &a) in alphas.iter().enumerate() {
        sub_plane(r, &planes[i * words..(i + 1) * words], a);
    }
}

/// Writes the nearest-code planes of `w` for `table` (`planes` is `[plane][word]`, the first
/// `table.bits` planes are overwritten; padding 0).
pub(crate) fn bst_assign(w: &[f32], table: &CodeTable, planes: &mut [u64], words: usize) {
    let k = table.bits;
    planes[..k * words].fill(0);
    for (j, &x) in w.iter().enumerate() {
        let p = table.patterns[table.descend(x)];
        for i in 0..k {
            if (p >> i) & 1 == 1 {
                planes[i * words + j / 64] |= 1u64 << (j % 64);
            }
        }
    }
}
