//! x86-64 scalar tier: the portable code compiled with the `popcnt` instruction.
//!
//! A portable x86-64 build has no `popcnt` in its baseline, so `count_ones` there is a
//! ~12-instruction bit-twiddling sequence; enabling the feature on these two functions (and
//! inlining the portable bodies into them) is a ~2× gain on CPUs without AVX2.

use super::portable::{matmul_block_body, tile_counts_body};
use super::{BlockArgs, TileArgs, TileCounts};
use crate::pack::interleaved::ROW_BLOCK;

/// Block product with `popcnt`.
///
/// # Safety
/// The CPU must support `popcnt` (checked by `Tier::Popcnt.require()` in `dispatch`).
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn matmul_block(a: &BlockArgs<'_>, acc: &mut [[f32; ROW_BLOCK]]) {
    matmul_block_body(a, acc);
}

/// Tile counts with `popcnt`.
///
/// # Safety
/// As for [`matmul_block`].
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn tile_counts(t: &TileArgs<'_>) -> TileCounts {
    tile_counts_body(t)
}
