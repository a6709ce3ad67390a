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

use super::{ActTile, MatArgs, TileArgs, TileCounts, add_to_out, for_each_group};
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

/// Every block of `group` against one tile: counts, then `α·β·(n − 2·count)` summed in a
/// register per batch item and added to its output rows once.
///
/// # Safety
/// As for `for_each_group` (valid output, rows ours); `t` is a tile of `a.plan`.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
#[inline]
unsafe fn tile_group<const KWT: usize, const NA: usize>(
    a: &MatArgs<'_>,
    p0: usize,
    t: &ActTile,
    group: std::ops::Range<usize>,
) {
    let (bits, words) = (a.w.bits(), a.w.words());
    let x = &a.x[t.a0 * words..];
    let betas = &a.betas[t.a0..t.a0 + NA];
    // Weight planes are combined two at a time in 16-lane registers: one permute packs the
    // low halves of two u64 count vectors into 16 i32 lanes, and shift, subtract, convert and
    // fma then serve both planes (5 zmm ops per two pairs). An odd last plane takes the
    // 8-lane path. α of consecutive planes are contiguous, so one load gives both.
    const HALF_MAX: usize = 2; // KWT <= 4
    let pairs = KWT / 2;
    let odd = KWT % 2 == 1;
    let low_dwords = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let nv16 = _mm512_set1_epi32(a.w.n() as i32);
    let nv8 = _mm256_set1_epi32(a.w.n() as i32);
    for blk in group {
        let cnt = tile::<KWT, NA>(a.w.block_planes(blk), bits, words, p0, x);
        let alphas = &a.w.block_alphas(blk)[p0 * ROW_BLOCK..(p0 + KWT) * ROW_BLOCK];
        let mut alpha16 = [_mm512_setzero_ps(); HALF_MAX];
        for (pp, v) in alpha16.iter_mut().enumerate().take(pairs) {
            // SAFETY: planes `2pp, 2pp + 1 < KWT`: 16 floats inside `alphas`; unaligned load.
            *v = unsafe { _mm512_loadu_ps(alphas.as_ptr().add(2 * pp * ROW_BLOCK)) };
        }
        let alpha8 = if odd {
            // SAFETY: plane `KWT − 1`: the last 8 floats of `alphas`; unaligned load.
            unsafe { _mm256_loadu_ps(alphas.as_ptr().add((KWT - 1) * ROW_BLOCK)) }
        } else {
            _mm256_setzero_ps()
        };
        // Batch item and plane of activation plane `a0 + aa`, advanced without divisions.
        let (mut b, mut j) = (t.b0, t.j0);
        // Σⱼ βⱼ·dᵢⱼ per weight plane for the current batch item; α is applied once per item.
        let mut part16 = [_mm512_setzero_ps(); HALF_MAX];
        let mut part8 = _mm256_setzero_ps();
        for (aa, &beta) in betas.iter().enumerate() {
            // d = n − 2c exactly in i32 (counts fit: n <= MAX_N), rounded to f32 once.
            for pp in 0..pairs {
                let c = _mm512_permutex2var_epi32(cnt[2 * pp][aa], low_dwords, cnt[2 * pp + 1][aa]);
                let d = _mm512_sub_epi32(nv16, _mm512_slli_epi32::<1>(c));
                part16[pp] =
                    _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_cvtepi32_ps(d), part16[pp]);
            }
            if odd {
                let c = _mm512_cvtepi64_epi32(cnt[KWT - 1][aa]);
                let d = _mm256_sub_epi32(nv8, _mm256_slli_epi32::<1>(c));
                part8 = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_cvtepi32_ps(d), part8);
            }
            j += 1;
            let item_done = j == a.k_a;
            if item_done || aa == NA - 1 {
                let mut run = _mm256_mul_ps(alpha8, part8);
                if pairs > 0 {
                    let mut run16 = _mm512_mul_ps(alpha16[0], part16[0]);
                    for pp in 1..pairs {
                        run16 = _mm512_fmadd_ps(alpha16[pp], part16[pp], run16);
                    }
                    // Fold the two planes' halves (lanes 0–7 and 8–15) together.
                    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(run16)));
                    run = _mm256_add_ps(run, _mm256_add_ps(_mm512_castps512_ps256(run16), hi));
                }
                let mut lanes = [0.0f32; ROW_BLOCK];
                // SAFETY: `lanes` is 8 floats: one unaligned 256-bit store.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), run) };
                // SAFETY: `b < items`, `blk` in our range: forwarded from the contract.
                unsafe { add_to_out(a, b, blk, &lanes) };
                part16 = [_mm512_setzero_ps(); HALF_MAX];
                part8 = _mm256_setzero_ps();
            }
            if item_done {
                (b, j) = (b + 1, 0);
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

/// Products of the row blocks `blocks` on the AVX-512 tier.
///
/// # Safety
/// The CPU must support AVX-512F/BW/VPOPCNTDQ (checked by `Tier::Avx512.require()` in
/// `dispatch`); `a.out` must be valid for the whole output and the rows of `blocks` written
/// by this caller alone.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
pub(super) unsafe fn matmul_blocks(a: &MatArgs<'_>, blocks: std::ops::Range<usize>) {
    // SAFETY: forwarded from this function's contract (valid output, rows ours).
    unsafe {
        for_each_group(a, blocks, |g| {
            for kt in a.plan.kw_tiles() {
                for t in kt.acts(a.k_a) {
                    tiles16!(kt.kwt, t.na, tile_group(a, kt.p0, &t, g.clone()));
                }
            }
        })
    }
}

/// Tile counts on the AVX-512 tier.
///
/// # Safety
/// The CPU must support this tier's features (as for [`matmul_blocks`]).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
pub(super) unsafe fn tile_counts(t: &TileArgs<'_>) -> TileCounts {
    tiles16!(t.kwt, t.na, tile_store(t))
}
