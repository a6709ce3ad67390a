//! Plain portable lookup kernel: the integer oracle every SIMD tier must match exactly.
//!
//! Also the kernel of the `popcnt` and `portable` tiers (a lookup has no use for `popcnt`).

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// Raw (biased) sums of one block: `raw[plane·64 + b] = Σ_groups u` for row `64·block + b`,
/// where `u` is the biased table entry selected by that row's nibble (see [`super::tables`]).
///
/// # Safety
/// None required (`unsafe` only to share the kernel type). Panics if `tables` is shorter than
/// `32 · units` or `raw` than `64 · bits` (the driver guarantees both).
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let tables = &tables[..w.units() * 32];
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        for (u, t) in units.chunks_exact(UNIT_BYTES).zip(tables.chunks_exact(32)) {
            let (tlo, thi) = t.split_at(16);
            for (a, &byte) in acc.iter_mut().zip(u) {
                *a += tlo[(byte & 15) as usize] as i32 + thi[(byte >> 4) as usize] as i32;
            }
        }
    }
}

/// `res[b] = f32(s · Σᵢ αᵢ[b]·(raw[i·64 + b] − bias))` for the 64 rows of a block, in f64
/// (`Qᵢ = raw − bias` are exact integers; one rounding to f32 at the end). Every tier runs
/// this same body (compiled for its features: per row, the same IEEE operations in the same
/// order), so identical integer sums give bit-identical outputs.
#[inline(always)]
fn combine_body(alphas: &[f32], raw: &[i32], bias: i32, s: f64, res: &mut [f32]) {
    let res: &mut [f32; BLOCK_ROWS] = (&mut res[..BLOCK_ROWS]).try_into().expect("64 rows");
    let mut acc = [0.0f64; BLOCK_ROWS];
    for (a, r) in alphas
        .chunks_exact(BLOCK_ROWS)
        .zip(raw.chunks_exact(BLOCK_ROWS))
    {
        for ((acc, &a), &r) in acc.iter_mut().zip(a).zip(r) {
            *acc += a as f64 * (r - bias) as f64;
        }
    }
    for (o, &a) in res.iter_mut().zip(&acc) {
        *o = (a * s) as f32;
    }
}

/// A block combination: `(alphas [plane][64], raw [plane][64], bias, s, res[64])`.
pub(crate) type CombineFn = unsafe fn(&[f32], &[i32], i32, f64, &mut [f32]);

/// Portable [`CombineFn`].
///
/// # Safety
/// None required (`unsafe` only to share the type).
pub(crate) unsafe fn combine(alphas: &[f32], raw: &[i32], bias: i32, s: f64, res: &mut [f32]) {
    combine_body(alphas, raw, bias, s, res)
}

/// [`CombineFn`] compiled for AVX2 (identical results).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn combine_avx2(alphas: &[f32], raw: &[i32], bias: i32, s: f64, res: &mut [f32]) {
    combine_body(alphas, raw, bias, s, res)
}

/// [`CombineFn`] compiled for AVX-512 (identical results).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn combine_avx512(
    alphas: &[f32],
    raw: &[i32],
    bias: i32,
    s: f64,
    res: &mut [f32],
) {
    combine_body(alphas, raw, bias, s, res)
}
