//! Tier → kernel functions, resolved once.
//!
//! Every `#[target_feature]` kernel is reachable only through [`kernels`] (which runs
//! [`Tier::require`] first) or [`active`] (whose tier came from [`Tier::active`], available
//! by construction), so holding a `&Kernels` proves that its functions may run on this CPU.

use std::sync::OnceLock;

use super::{MatArgs, TileArgs, TileCounts, portable};
use crate::error::Result;
use crate::tier::Tier;

/// One tier's kernel entry points and its tile limits.
pub(crate) struct Kernels {
    /// The tier these kernels belong to.
    pub(crate) tier: Tier,
    /// Writes the outputs of a range of row blocks for one chunk of batch items.
    pub(crate) matmul_blocks: unsafe fn(&MatArgs<'_>, std::ops::Range<usize>),
    /// Counts one tile (for exact integer dots).
    pub(crate) tile_counts: unsafe fn(&TileArgs<'_>) -> TileCounts,
    /// Most weight planes per tile.
    pub(crate) max_kwt: usize,
    /// Most accumulators per tile.
    pub(crate) max_acc: usize,
}

static PORTABLE: Kernels = Kernels {
    tier: Tier::Portable,
    matmul_blocks: portable::matmul_blocks,
    tile_counts: portable::tile_counts,
    max_kwt: portable::MAX_KWT,
    max_acc: portable::MAX_ACC,
};

#[cfg(target_arch = "x86_64")]
static POPCNT: Kernels = Kernels {
    tier: Tier::Popcnt,
    matmul_blocks: super::x86_popcnt::matmul_blocks,
    tile_counts: super::x86_popcnt::tile_counts,
    max_kwt: portable::ROWS_MAX_KWT,
    max_acc: portable::ROWS_MAX_ACC,
};

#[cfg(target_arch = "x86_64")]
static AVX2: Kernels = Kernels {
    tier: Tier::Avx2,
    matmul_blocks: super::x86_avx2::matmul_blocks,
    tile_counts: super::x86_avx2::tile_counts,
    max_kwt: super::x86_avx2::MAX_KWT,
    max_acc: super::x86_avx2::MAX_ACC,
};

#[cfg(target_arch = "x86_64")]
static AVX512: Kernels = Kernels {
    tier: Tier::Avx512,
    matmul_blocks: super::x86_avx512::matmul_blocks,
    tile_counts: super::x86_avx512::tile_counts,
    max_kwt: super::x86_avx512::MAX_KWT,
    max_acc: super::x86_avx512::MAX_ACC,
};

#[cfg(target_arch = "aarch64")]
static NEON: Kernels = Kernels {
    tier: Tier::Neon,
    matmul_blocks: super::aarch64_neon::matmul_blocks,
    tile_counts: super::aarch64_neon::tile_counts,
    max_kwt: super::aarch64_neon::MAX_KWT,
    max_acc: super::aarch64_neon::MAX_ACC,
};

/// The kernels of `tier`, or [`crate::AmqError::TierUnavailable`] if this CPU cannot run it.
pub(crate) fn kernels(tier: Tier) -> Result<&'static Kernels> {
    let tier = tier.require()?;
    Ok(table(tier))
}

/// The kernels of [`Tier::active`], looked up once per process.
pub(crate) fn active() -> &'static Kernels {
    static ACTIVE: OnceLock<&'static Kernels> = OnceLock::new();
    // `Tier::active` only returns available tiers; fall back to portable all the same.
    ACTIVE.get_or_init(|| kernels(Tier::active()).unwrap_or(&PORTABLE))
}

/// Table lookup for a tier already known to be available.
fn table(tier: Tier) -> &'static Kernels {
    match tier {
        #[cfg(target_arch = "x86_64")]
        Tier::Avx512 => &AVX512,
        #[cfg(target_arch = "x86_64")]
        Tier::Avx2 => &AVX2,
        #[cfg(target_arch = "x86_64")]
        Tier::Popcnt => &POPCNT,
        #[cfg(target_arch = "aarch64")]
        Tier::Neon => &NEON,
        // Unreachable for tiers of another architecture: `require` refused them.
        _ => &PORTABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_their_tier() {
        for t in Tier::ALL {
            match kernels(t) {
                Ok(k) => assert_eq!(k.tier, t),
                Err(e) => assert!(!t.is_available(), "{t}: {e}"),
            }
        }
        assert_eq!(active().tier, Tier::active());
    }
}
