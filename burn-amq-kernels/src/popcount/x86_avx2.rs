//! AVX2 tier: Muła's nibble-lookup popcount (`vpshufb`) with `vpsadbw` reductions.
//!
//! An 8-row block is two ymm per (word, plane): lanes 0–3 and 4–7. The xor of a weight
//! vector and a broadcast activation word is split into nibbles, each looked up in a 16-entry
//! table of bit counts, giving per-byte counts (≤ 8). Byte counts are summed in byte
//! accumulators for up to [`FLUSH_WORDS`] words (31 · 8 = 248 < 256, no overflow), then
//! `vpsadbw` against zero adds the 8 bytes of each `u64` lane, i.e. each row's count, into
//! `u64` accumulators. With only 16 ymm registers a tile holds at most 4 (weight plane,
//! activation plane) pairs, i.e. 8 byte accumulators.

#![allow(
    clippy::needless_range_loop,
    reason = "register tiles are indexed [weight plane][activation plane][half]; index loops keep the three dimensions readable"
)]

use std::arch::x86_64::*;

use super::{ActTile, MatArgs, TileArgs, TileCounts, combine_tile, for_each_group};
use crate::pack::interleaved::{Lanes, ROW_BLOCK};

/// Most weight planes per tile.
pub(super) const MAX_KWT: usize = 2;
/// Most accumulators (`kwt · na`) per tile.
pub(super) const MAX_ACC: usize = 4;

/// Words accumulated in bytes before a `vpsadbw` flush.
const FLUSH_WORDS: usize = 31;

/// Counts of one tile as `[KWT][NA]` arrays of 8 row lanes.
#[target_feature(enable = "avx2,fma,popcnt")]
#[inline]
fn tile<const KWT: usize, const NA: usize>(
    w: &[Lanes],
    bits: usize,
    words: usize,
    p0: usize,
    x: &[u64],
) -> [[[u64; ROW_BLOCK]; NA]; KWT] {
    // One check up front makes every unchecked access below in bounds.
    assert!(p0 + KWT <= bits && w.len() >= words * bits && x.len() >= NA * words);
    let zero = _mm256_setzero_si256();
    let table = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, //
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
    );
    let low = _mm256_set1_epi8(0x0f);
    let wp = w.as_ptr();
    let xp = x.as_ptr();
    let mut sums = [[[zero; 2]; NA]; KWT];
    let mut k0 = 0;
    while k0 < words {
        let k1 = (k0 + FLUSH_WORDS).min(words);
        let mut bytes = [[[zero; 2]; NA]; KWT];
        for k in k0..k1 {
            let mut wv = [[zero; 2]; KWT];
            for (ii, v) in wv.iter_mut().enumerate() {
                // SAFETY: `k · bits + p0 + ii < words · bits <= w.len()` (asserted above);
                // a `Lanes` chunk is 64-byte aligned, so both 32-byte halves are aligned.
                unsafe {
                    let p = wp.add(k * bits + p0 + ii).cast::<__m256i>();
                    v[0] = _mm256_load_si256(p);
                    v[1] = _mm256_load_si256(p.add(1));
                }
            }
            for aa in 0..NA {
                // SAFETY: `aa · words + k < NA · words <= x.len()` (asserted above).
                let xw = unsafe { *xp.add(aa * words + k) };
                let xb = _mm256_set1_epi64x(xw as i64);
                for ii in 0..KWT {
                    for h in 0..2 {
                        let v = _mm256_xor_si256(wv[ii][h], xb);
                        let lo = _mm256_and_si256(v, low);
                        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
                        let c = _mm256_add_epi8(
                            _mm256_shuffle_epi8(table, lo),
                            _mm256_shuffle_epi8(table, hi),
                        );
                        bytes[ii][aa][h] = _mm256_add_epi8(bytes[ii][aa][h], c);
                    }
                }
            }
        }
        for ii in 0..KWT {
            for aa in 0..NA {
                for h in 0..2 {
                    let s = _mm256_sad_epu8(bytes[ii][aa][h], zero);
                    sums[ii][aa][h] = _mm256_add_epi64(sums[ii][aa][h], s);
                }
            }
        }
        k0 = k1;
    }
    let mut out = [[[0u64; ROW_BLOCK]; NA]; KWT];
    for ii in 0..KWT {
        for aa in 0..NA {
            for h in 0..2 {
                // SAFETY: lanes `4h..4h + 4` of a `[u64; 8]`: one unaligned 32-byte store.
                unsafe {
                    _mm256_storeu_si256(out[ii][aa].as_mut_ptr().add(4 * h).cast(), sums[ii][aa][h])
                };
            }
        }
    }
    out
}

/// Every block of `group` against one tile: counts, then folded into the output.
///
/// # Safety
/// As for `for_each_group` (valid output, rows ours); `t` is a tile of `a.plan`.
#[target_feature(enable = "avx2,fma,popcnt")]
#[inline]
unsafe fn tile_group<const KWT: usize, const NA: usize>(
    a: &MatArgs<'_>,
    p0: usize,
    t: &ActTile,
    group: std::ops::Range<usize>,
) {
    let (bits, words) = (a.w.bits(), a.w.words());
    let x = &a.x[t.a0 * words..];
    for blk in group {
        let cnt = tile::<KWT, NA>(a.w.block_planes(blk), bits, words, p0, x);
        // SAFETY: forwarded from this function's contract.
        unsafe { combine_tile::<KWT, NA>(a, blk, p0, t, &cnt) };
    }
}

/// Stores one tile's counts in the flat [`TileCounts`] layout.
#[target_feature(enable = "avx2,fma,popcnt")]
#[inline]
fn tile_store<const KWT: usize, const NA: usize>(t: &TileArgs<'_>) -> TileCounts {
    let cnt = tile::<KWT, NA>(t.w, t.bits, t.words, t.p0, t.x);
    let mut out = [[0u64; ROW_BLOCK]; 16];
    for ii in 0..KWT {
        for aa in 0..NA {
            out[ii * NA + aa] = cnt[ii][aa];
        }
    }
    out
}

/// Products of the row blocks `blocks` on the AVX2 tier.
///
/// # Safety
/// The CPU must support AVX2, FMA and POPCNT (checked by `Tier::Avx2.require()` in
/// `dispatch`); `a.out` must be valid for the whole output and the rows of `blocks` written
/// by this caller alone.
#[target_feature(enable = "avx2,fma,popcnt")]
pub(super) unsafe fn matmul_blocks(a: &MatArgs<'_>, blocks: std::ops::Range<usize>) {
    // SAFETY: forwarded from this function's contract (valid output, rows ours).
    unsafe {
        for_each_group(a, blocks, |g| {
            for kt in a.plan.kw_tiles() {
                for t in kt.acts(a.k_a) {
                    tiles4!(kt.kwt, t.na, tile_group(a, kt.p0, &t, g.clone()));
                }
            }
        })
    }
}

/// Tile counts on the AVX2 tier.
///
/// # Safety
/// The CPU must support this tier's features (as for [`matmul_blocks`]).
#[target_feature(enable = "avx2,fma,popcnt")]
pub(super) unsafe fn tile_counts(t: &TileArgs<'_>) -> TileCounts {
    tiles4!(t.kwt, t.na, tile_store(t))
}
