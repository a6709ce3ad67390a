//! x86-64 scalar tier: the portable code, counting one row at a time, compiled with the
//! `popcnt` instruction.
//!
//! A portable x86-64 build has no `popcnt` in its baseline, so `count_ones` there is a
//! ~12-instruction bit-twiddling sequence; enabling the feature on these two functions (and
//! inlining the portable bodies into them) is a ~2× gain on CPUs without AVX2.

use super::portable::{tile_counts_rows, tile_group_rows};
use super::{MatArgs, TileArgs, TileCounts, for_each_group};

/// Products of the row blocks `blocks` with `popcnt`.
///
/// # Safety
/// The CPU must support `popcnt` (checked by `Tier::Popcnt.require()` in `dispatch`);
/// `a.out` must be valid for the whole output and the rows of `blocks` ours alone.
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn matmul_blocks(a: &MatArgs<'_>, blocks: std::ops::Range<usize>) {
    // The closure must be written here, not in `portable`: a closure inherits the target
    // features of the function it is written in, and `portable::tile_group_rows` (inline(always))
    // then compiles with `popcnt` inside it.
    // SAFETY: forwarded from this function's contract (valid output, rows ours).
    unsafe {
        for_each_group(a, blocks, |g| {
            for kt in a.plan.kw_tiles() {
                for t in kt.acts(a.k_a) {
                    tiles4!(kt.kwt, t.na, tile_group_rows(a, kt.p0, &t, g.clone()));
                }
            }
        })
    }
}

/// Tile counts with `popcnt`.
///
/// # Safety
/// The CPU must support `popcnt`.
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn tile_counts(t: &TileArgs<'_>) -> TileCounts {
    tile_counts_rows(t)
}
