//! Portable tier: plain Rust on the interleaved layout (`u64::count_ones`).
//!
//! The generic bodies are `#[inline(always)]` so that `x86_popcnt` can compile the very same
//! code inside a `#[target_feature(enable = "popcnt")]` function: `count_ones` then becomes
//! the `popcnt` instruction instead of the baseline x86-64 bit-twiddling sequence.

#![allow(
    clippy::needless_range_loop,
    reason = "register tiles are indexed [weight plane][activation plane][half]; index loops keep the three dimensions readable"
)]

use super::{BlockArgs, MAX_NA, TileArgs, TileCounts, Tiles, combine_lanes};
use crate::pack::interleaved::{Lanes, ROW_BLOCK};

/// Most weight planes per tile.
pub(super) const MAX_KWT: usize = 4;
/// Most accumulators (`kwt · na`) per tile.
pub(super) const MAX_ACC: usize = 16;

/// Counts of one tile: `[KWT][NA]` accumulators of 8 row lanes.
#[inline(always)]
fn tile<const KWT: usize, const NA: usize>(
    w: &[Lanes],
    bits: usize,
    words: usize,
    p0: usize,
    x: &[u64],
) -> [[[u64; ROW_BLOCK]; NA]; KWT] {
    let mut acc = [[[0u64; ROW_BLOCK]; NA]; KWT];
    let x = &x[..NA * words];
    for (k, wk) in w.chunks_exact(bits).take(words).enumerate() {
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
    acc
}

/// One tile of a block product: counts, then `α·β·(n − 2·count)` into `acc`.
#[inline(always)]
fn tile_matmul<const KWT: usize, const NA: usize>(
    a: &BlockArgs<'_>,
    p0: usize,
    a0: usize,
    acc: &mut [[f32; ROW_BLOCK]],
) {
    let cnt = tile::<KWT, NA>(a.w, a.bits, a.words, p0, &a.x[a0 * a.words..]);
    for (ii, row) in cnt.iter().enumerate() {
        let alpha = &a.alphas[(p0 + ii) * ROW_BLOCK..(p0 + ii + 1) * ROW_BLOCK];
        for (aa, c) in row.iter().enumerate() {
            let plane = a0 + aa;
            combine_lanes(
                &mut acc[plane / a.k_a],
                alpha,
                a.betas[plane],
                a.n as i32,
                c,
            );
        }
    }
}

/// Stores one tile's counts in the flat [`TileCounts`] layout.
#[inline(always)]
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

/// The block driver shared with `x86_popcnt`.
#[inline(always)]
pub(super) fn matmul_block_body(a: &BlockArgs<'_>, acc: &mut [[f32; ROW_BLOCK]]) {
    for (p0, kwt) in Tiles::new(a.bits, MAX_KWT) {
        let na_max = (MAX_ACC / kwt).min(MAX_NA);
        for (a0, na) in Tiles::new(a.betas.len(), na_max) {
            tiles16!(kwt, na, tile_matmul(a, p0, a0, acc));
        }
    }
}

/// The tile-count entry shared with `x86_popcnt`.
#[inline(always)]
pub(super) fn tile_counts_body(t: &TileArgs<'_>) -> TileCounts {
    tiles16!(t.kwt, t.na, tile_store(t))
}

/// Block product on the portable tier (see [`super::BlockArgs`]).
///
/// # Safety
/// None beyond the signature: this is `unsafe` only to share the dispatch table's type.
pub(super) unsafe fn matmul_block(a: &BlockArgs<'_>, acc: &mut [[f32; ROW_BLOCK]]) {
    matmul_block_body(a, acc);
}

/// Tile counts on the portable tier.
///
/// # Safety
/// None beyond the signature (see [`matmul_block`]).
pub(super) unsafe fn tile_counts(t: &TileArgs<'_>) -> TileCounts {
    tile_counts_body(t)
}
