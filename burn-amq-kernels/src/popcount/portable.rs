//! Portable tier: plain Rust on the interleaved layout (`u64::count_ones`).
//!
//! The generic bodies are `#[inline(always)]` so that `x86_popcnt` can compile the very same
//! code inside a `#[target_feature(enable = "popcnt")]` function: `count_ones` then becomes
//! the `popcnt` instruction instead of the baseline x86-64 bit-twiddling sequence.

#![allow(
    clippy::needless_range_loop,
    reason = "register tiles are indexed [weight plane][activation plane][half]; index loops keep the three dimensions readable"
)]

use super::{ActTile, MatArgs, TileArgs, TileCounts, combine_tile, for_each_group};
use crate::pack::interleaved::{Lanes, ROW_BLOCK};

/// Most weight planes per tile in the portable tier (lanes-inner counting).
pub(super) const MAX_KWT: usize = 4;
/// Most accumulators (`kwt · na`) per tile in the portable tier.
pub(super) const MAX_ACC: usize = 16;
/// Most weight planes per tile for row-at-a-time counting (`x86_popcnt`).
pub(super) const ROWS_MAX_KWT: usize = 2;
/// Most accumulators per tile for row-at-a-time counting: the scalar counters must fit in
/// general-purpose registers next to the weight and activation words.
pub(super) const ROWS_MAX_ACC: usize = 4;

/// Counts of one tile: `[KWT][NA]` accumulators of 8 row lanes.
///
/// Two loop orders. `ROWWISE`: one row (lane) at a time, so the `KWT · NA` counters stay in
/// registers through the word loop; best with a scalar `popcnt` instruction. Otherwise the
/// 8 lanes are innermost, which compilers vectorise (a SIMD-within-a-register bit count on
/// targets without a popcount instruction), so the portable tier uses that.
#[inline(always)]
fn tile<const KWT: usize, const NA: usize, const ROWWISE: bool>(
    w: &[Lanes],
    bits: usize,
    words: usize,
    p0: usize,
    x: &[u64],
) -> [[[u64; ROW_BLOCK]; NA]; KWT] {
    let mut acc = [[[0u64; ROW_BLOCK]; NA]; KWT];
    let x = &x[..NA * words];
    let w = &w[..words * bits];
    if ROWWISE {
        for l in 0..ROW_BLOCK {
            let mut c = [[0u64; NA]; KWT];
            for (k, wk) in w.chunks_exact(bits).enumerate() {
                let wk = &wk[p0..p0 + KWT];
                for aa in 0..NA {
                    let xv = x[aa * words + k];
                    for ii in 0..KWT {
                        c[ii][aa] += u64::from((wk[ii].0[l] ^ xv).count_ones());
                    }
                }
            }
            for ii in 0..KWT {
                for aa in 0..NA {
                    acc[ii][aa][l] = c[ii][aa];
                }
            }
        }
    } else {
        for (k, wk) in w.chunks_exact(bits).enumerate() {
            let wk = &wk[p0..p0 + KWT];
            for aa in 0..NA {
                let xv = x[aa * words + k];
                for ii in 0..KWT {
                    for l in 0..ROW_BLOCK {
                        acc[ii][aa][l] += u64::from((wk[ii].0[l] ^ xv).count_ones());
                    }
                }
            }
        }
    }
    acc
}

/// Every block of `group` against one tile: counts, then folded into the output.
///
/// # Safety
/// As for `for_each_group` (valid output, rows ours); `t` is a tile of `a.plan`.
#[inline(always)]
unsafe fn tile_group_impl<const KWT: usize, const NA: usize, const ROWWISE: bool>(
    a: &MatArgs<'_>,
    p0: usize,
    t: &ActTile,
    group: std::ops::Range<usize>,
) {
    let (bits, words) = (a.w.bits(), a.w.words());
    let x = &a.x[t.a0 * words..];
    for blk in group {
        let cnt = tile::<KWT, NA, ROWWISE>(a.w.block_planes(blk), bits, words, p0, x);
        // SAFETY: forwarded from this function's contract.
        unsafe { combine_tile::<KWT, NA>(a, blk, p0, t, &cnt) };
    }
}

/// [`tile_group_impl`] with lanes-inner counting (the portable tier).
///
/// # Safety
/// As for [`tile_group_impl`].
#[inline(always)]
unsafe fn tile_group<const KWT: usize, const NA: usize>(
    a: &MatArgs<'_>,
    p0: usize,
    t: &ActTile,
    group: std::ops::Range<usize>,
) {
    // SAFETY: forwarded from this function's contract.
    unsafe { tile_group_impl::<KWT, NA, false>(a, p0, t, group) }
}

/// [`tile_group_impl`] with row-at-a-time counting, for `x86_popcnt`: `#[inline(always)]`
/// so that it compiles inside that tier's `popcnt`-enabled function.
///
/// # Safety
/// As for [`tile_group_impl`].
#[inline(always)]
pub(super) unsafe fn tile_group_rows<const KWT: usize, const NA: usize>(
    a: &MatArgs<'_>,
    p0: usize,
    t: &ActTile,
    group: std::ops::Range<usize>,
) {
    // SAFETY: forwarded from this function's contract.
    unsafe { tile_group_impl::<KWT, NA, true>(a, p0, t, group) }
}

/// Stores one tile's counts in the flat [`TileCounts`] layout.
#[inline(always)]
fn tile_store_impl<const KWT: usize, const NA: usize, const ROWWISE: bool>(
    t: &TileArgs<'_>,
) -> TileCounts {
    let cnt = tile::<KWT, NA, ROWWISE>(t.w, t.bits, t.words, t.p0, t.x);
    let mut out = [[0u64; ROW_BLOCK]; 16];
    for ii in 0..KWT {
        for aa in 0..NA {
            out[ii * NA + aa] = cnt[ii][aa];
        }
    }
    out
}

#[inline(always)]
fn tile_store<const KWT: usize, const NA: usize>(t: &TileArgs<'_>) -> TileCounts {
    tile_store_impl::<KWT, NA, false>(t)
}

#[inline(always)]
fn tile_store_rows<const KWT: usize, const NA: usize>(t: &TileArgs<'_>) -> TileCounts {
    tile_store_impl::<KWT, NA, true>(t)
}

/// The row-at-a-time tile-count entry of `x86_popcnt` (inlined into its `popcnt` function).
#[inline(always)]
pub(super) fn tile_counts_rows(t: &TileArgs<'_>) -> TileCounts {
    tiles4!(t.kwt, t.na, tile_store_rows(t))
}

/// Products of the row blocks `blocks` on the portable tier (see [`super::MatArgs`]).
///
/// # Safety
/// `a.out` must be valid for the whole output and the rows of `blocks` ours alone.
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

/// Tile counts on the portable tier.
///
/// # Safety
/// None beyond the signature: `unsafe` only to share the dispatch table's type.
pub(super) unsafe fn tile_counts(t: &TileArgs<'_>) -> TileCounts {
    tiles16!(t.kwt, t.na, tile_store(t))
}
