//! Portable reference kernels for the two passes every quantizer is made of.
//!
//! Sums run in [`LANES`] f64 accumulators (entry `j` goes to lane `j % LANES`) reduced by the
//! fixed tree [`reduce`]. That is exactly what the SIMD kernels do, so every tier gives
//! bit-identical α and codes. f64 keeps sums of up to 2²⁹ equal f32 values exact, which makes
//! constant rows come out exact; 32 lanes (two AVX-512 registers of f32) give the SIMD code
//! enough independent additions to hide their latency.

use super::bst::CodeTable;

/// Number of partial sums.
pub(crate) const LANES: usize = 32;

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

/// One greedy step on the fly: with `r = w − Σᵢ priorᵢ·bᵢ` (planes `0..prior.len()` of
/// `planes`, subtracted in order), writes `out = sign(r)` (`r ≥ 0` → bit 1, so sign(0) = +1;
/// padding 0) and returns `(Σ|r|, out·w)`.
///
/// Recomputing `r` from `w` rounds exactly like updating a residual buffer step by step, and
/// needs no buffer; the dot product is what least squares needs for the new plane.
pub(crate) fn greedy_pass(
    w: &[f32],
    planes: &[u64],
    words: usize,
    prior: &[f32],
    out: &mut [u64],
) -> (f64, f64) {
    out.fill(0);
    let mut abs = [0.0f64; LANES];
    let mut dot = [0.0f64; LANES];
    for (c, chunk) in w.chunks(LANES).enumerate() {
        for (l, &x) in chunk.iter().enumerate() {
            let j = c * LANES + l;
            let mut v = x;
            for (i, &a) in prior.iter().enumerate() {
                v -= if bit(&planes[i * words..], j) { a } else { -a };
            }
            let pos = v >= 0.0;
            abs[l] += f64::from(v.abs());
            dot[l] += f64::from(if pos { x } else { -x });
            if pos {
                out[j / 64] |= 1u64 << (j % 64);
            }
        }
    }
    (reduce(&abs), reduce(&dot))
}

/// Writes the nearest-code planes of `w` for `table` (the first `table.bits` planes of
/// `planes`, `[plane][word]`, padding 0) and their dot products with `w` into `dots`.
pub(crate) fn bst_assign(
    w: &[f32],
    table: &CodeTable,
    planes: &mut [u64],
    words: usize,
    dots: &mut [f64],
) {
    let k = table.bits;
    planes[..k * words].fill(0);
    let mut acc = [[0.0f64; LANES]; crate::MAX_BITS];
    for (c, chunk) in w.chunks(LANES).enumerate() {
        for (l, &x) in chunk.iter().enumerate() {
            let j = c * LANES + l;
            let p = table.patterns[table.descend(x)];
            for (i, a) in acc[..k].iter_mut().enumerate() {
                let pos = (p >> i) & 1 == 1;
                a[l] += f64::from(if pos { x } else { -x });
                if pos {
                    planes[i * words + j / 64] |= 1u64 << (j % 64);
                }
            }
        }
    }
    for (d, a) in dots.iter_mut().zip(&acc[..k]) {
        *d = reduce(a);
    }
}
