//! aarch64 NEON tier: `veor` + `vcnt` with pairwise widening adds.
//!
//! An 8-row block is four `uint64x2_t` per (word, plane). `vcntq_u8` gives per-byte counts
//! (≤ 8); they are summed in byte accumulators for up to [`FLUSH_WORDS`] words
//! (31 · 8 = 248 < 256, no overflow), then widened pairwise u8 → u16 → u32 and accumulated
//! into the `u64` lanes (`vpadalq_u32`), one lane per row. A tile holds at most 4
//! (weight plane, activation plane) pairs: 16 byte accumulators of the 32 q registers.
//!
//! Not compiled on the x86-64 development machine (no aarch64 standard library there); the
//! intrinsics' signatures were checked against the Rust 1.95 `core::arch::aarch64` docs.

#![allow(
    clippy::needless_range_loop,
    reason = "register tiles are indexed [weight plane][activation plane][half]; index loops keep the three dimensions readable"
)]

use std::arch::aarch64::*;

use super::{ActTile, MatArgs, TileArgs, TileCounts, combine_tile, for_each_group};
use crate::pack::interleaved::{Lanes, ROW_BLOCK};

/// Most weight planes per tile.
pub(super) const MAX_KWT: usize = 2;
/// Most accumulators (`kwt · na`) per tile.
pub(super) const MAX_ACC: usize = 4;

/// Words accumulated in bytes before widening.
const FLUSH_WORDS: usize = 31;

/// Counts of one tile as `[KWT][NA]` arrays of 8 row lanes.
#[target_feature(enable = "neon")]
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
    let wp = w.as_ptr();
    let xp = x.as_ptr();
    let mut sums = [[[vdupq_n_u64(0); 4]; NA]; KWT];
    let mut k0 = 0;
    while k0 < words {
        let k1 = (k0 + FLUSH_WORDS).min(words);
        let mut bytes = [[[vdupq_n_u8(0); 4]; NA]; KWT];
        for k in k0..k1 {
            let mut wv = [[vdupq_n_u64(0); 4]; KWT];
            for (ii, v) in wv.iter_mut().enumerate() {
                // SAFETY: chunk `k · bits + p0 + ii < words · bits <= w.len()` (asserted
                // above) holds 8 `u64`s, read as four 2-lane loads.
                unsafe {
                    let p = wp.add(k * bits + p0 + ii).cast::<u64>();
                    for (q, vq) in v.iter_mut().enumerate() {
                        *vq = vld1q_u64(p.add(2 * q));
                    }
                }
            }
            for aa in 0..NA {
                // SAFETY: `aa · words + k < NA · words <= x.len()` (asserted above).
                let xw = unsafe { *xp.add(aa * words + k) };
                let xb = vdupq_n_u64(xw);
                for ii in 0..KWT {
                    for q in 0..4 {
                        let c = vcntq_u8(vreinterpretq_u8_u64(veorq_u64(wv[ii][q], xb)));
                        bytes[ii][aa][q] = vaddq_u8(bytes[ii][aa][q], c);
                    }
                }
            }
        }
        for ii in 0..KWT {
            for aa in 0..NA {
                for q in 0..4 {
                    let wide = vpaddlq_u16(vpaddlq_u8(bytes[ii][aa][q]));
                    sums[ii][aa][q] = vpadalq_u32(sums[ii][aa][q], wide);
                }
            }
        }
        k0 = k1;
    }
    let mut out = [[[0u64; ROW_BLOCK]; NA]; KWT];
    for ii in 0..KWT {
        for aa in 0..NA {
            for q in 0..4 {
                // SAFETY: lanes `2q..2q + 2` of a `[u64; 8]`: one 16-byte store in bounds.
                unsafe { vst1q_u64(out[ii][aa].as_mut_ptr().add(2 * q), sums[ii][aa][q]) };
            }
        }
    }
    out
}

/// Every block of `group` against one tile: counts, then folded into the output.
///
/// # Safety
/// As for `for_each_group` (valid output, rows ours); `t` is a tile of `a.plan`.
#[target_feature(enable = "neon")]
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
#[target_feature(enable = "neon")]
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

/// Products of the row blocks `blocks` on the NEON tier.
///
/// # Safety
/// The CPU must support NEON (checked by `Tier::Neon.require()` in `dispatch`); `a.out`
/// must be valid for the whole output and the rows of `blocks` written by this caller alone.
#[target_feature(enable = "neon")]
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

/// Tile counts on the NEON tier.
///
/// # Safety
/// The CPU must support this tier's features (as for [`matmul_blocks`]).
#[target_feature(enable = "neon")]
pub(super) unsafe fn tile_counts(t: &TileArgs<'_>) -> TileCounts {
    tiles4!(t.kwt, t.na, tile_store(t))
}
