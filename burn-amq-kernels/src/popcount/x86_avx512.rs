//! AVX-512 tier: `vpxorq` + `vpopcntq` + `vpaddq` on whole 8-row blocks.
//!
//! One zmm holds word `k` of one weight plane for the 8 rows of a block (one `u64` lane per
//! row), so each lane accumulates its own row's count and no horizontal reduction is needed.
//! Activation words are broadcast to all lanes. A tile keeps `KWT · NA <= 16` accumulators in
//! registers (of 32 zmm), plus `KWT` weight vectors and one broadcast.

#![allow(
    clippy::needless_range_loop,
    reason = "register tiles are indexed [weight plane][activation plane][half]; index loops keep the three dimensions readable"
)]

use std::arch::x86_64::*;

use super::{BlockArgs, MAX_NA, TileArgs, TileCounts, Tiles};
use crate::pack::interleaved::{Lanes, ROW_BLOCK};

/// Most weight planes per tile.
pub(super) const MAX_KWT: usize = 4;
/// Most accumulators (`kwt · na`) per tile.
pub(super) const MAX_ACC: usize = 16;

/// Counts of one tile: weight planes `p0..p0 + KWT` of the block `w` against the `NA`
/// activation planes at the start of `x`.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
#[inline]
fn tile<const KWT: usize, const NA: usize>(
    w: &[Lanes],
    bits: usize,
    words: usize,
    p0: usize,
    x: &[u64],
) -> [[__m512i; NA]; KWT] {
    // One check up front makes every unchecked access below in bounds.
    assert!(p0 + KWT <= bits && w.len() >= words * bits && x.len() >= NA * words);
    let mut acc = [[_mm512_setzero_si512(); NA]; KWT];
    let wp = w.as_ptr();
    let xp = x.as_ptr();
    for k in 0..words {
        let mut wv = [_mm512_setzero_si512(); KWT];
        for (ii, v) in wv.iter_mut().enumerate() {
            // SAFETY: `k · bits + p0 + ii < words · bits <= w.len()` (asserted above), and
            // `Lanes` is 64-byte aligned, as the aligned load requires.
            *v = unsafe { _mm512_load_si512(wp.add(k * bits + p0 + ii).cast()) };
        }
        for aa in 0..NA {
            // SAFETY: `aa · words + k < NA · words <= x.len()` (asserted above).
            let xw = unsafe { *xp.add(aa * words + k) };
            let xb = _mm512_set1_epi64(xw as i64);
            for ii in 0..KWT {
                let ones = _mm512_popcnt_epi64(_mm512_xor_si512(wv[ii], xb));
                acc[ii][aa] = _mm512_add_epi64(acc[ii][aa], ones);
            }
        }
    }
    acc
}

/// One tile of a block product: counts, then `acc[b] += α·β·(n − 2·count)` in f32 lanes.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
#[inline]
fn tile_matmul<const KWT: usize, const NA: usize>(
    a: &BlockArgs<'_>,
    p0: usize,
    a0: usize,
    acc: &mut [[f32; ROW_BLOCK]],
) {
    let cnt = tile::<KWT, NA>(a.w, a.bits, a.words, p0, &a.x[a0 * a.words..]);
    let nv = _mm512_set1_epi64(a.n as i64);
    assert!(a.alphas.len() >= (p0 + KWT) * ROW_BLOCK);
    for (ii, row) in cnt.iter().enumerate() {
        // SAFETY: `(p0 + ii + 1) · 8 <= alphas.len()` (asserted above); unaligned load.
        let alpha = unsafe { _mm256_loadu_ps(a.alphas.as_ptr().add((p0 + ii) * ROW_BLOCK)) };
        for (aa, &c) in row.iter().enumerate() {
            let plane = a0 + aa;
            // n − 2·count, exact in i64; it fits i32 because n <= MAX_N.
            let d = _mm512_sub_epi64(nv, _mm512_slli_epi64::<1>(c));
            let df = _mm256_cvtepi32_ps(_mm512_cvtepi64_epi32(d));
            let coef = _mm256_mul_ps(alpha, _mm256_set1_ps(a.betas[plane]));
            let slot = &mut acc[plane / a.k_a];
            // SAFETY: `slot` is a `[f32; 8]`, exactly one unaligned 256-bit load and store.
            unsafe {
                let prev = _mm256_loadu_ps(slot.as_ptr());
                _mm256_storeu_ps(
                    slot.as_mut_ptr(),
                    _mm256_add_ps(prev, _mm256_mul_ps(coef, df)),
                );
            }
        }
    }
}

/// Stores one tile's counts in the flat [`TileCounts`] layout.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
#[inline]
fn tile_store<const KWT: usize, const NA: usize>(t: &TileArgs<'_>) -> TileCounts {
    let cnt = tile::<KWT, NA>(t.w, t.bits, t.words, t.p0, t.x);
    let mut out = [[0u64; ROW_BLOCK]; 16];
    for ii in 0..KWT {
        for aa in 0..NA {
            // SAFETY: each entry of `out` is 8 `u64`s = 64 bytes, one unaligned store.
            unsafe { _mm512_storeu_si512(out[ii * NA + aa].as_mut_ptr().cast(), cnt[ii][aa]) };
        }
    }
    out
}

/// Block product on the AVX-512 tier.
///
/// # Safety
/// The CPU must support AVX-512F/BW/VPOPCNTDQ (checked by `Tier::Avx512.require()` in
/// `dispatch`).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
pub(super) unsafe fn matmul_block(a: &BlockArgs<'_>, acc: &mut [[f32; ROW_BLOCK]]) {
    for (p0, kwt) in Tiles::new(a.bits, MAX_KWT) {
        let na_max = (MAX_ACC / kwt).min(MAX_NA);
        for (a0, na) in Tiles::new(a.betas.len(), na_max) {
            tiles16!(kwt, na, tile_matmul(a, p0, a0, acc));
        }
    }
}

/// Tile counts on the AVX-512 tier.
///
/// # Safety
/// As for [`matmul_block`].
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
pub(super) unsafe fn tile_counts(t: &TileArgs<'_>) -> TileCounts {
    tiles16!(t.kwt, t.na, tile_store(t))
}
