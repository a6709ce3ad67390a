//! Tier → kernel functions, resolved once.
//!
//! Every `#[target_feature]` kernel is reachable only through [`kernels`] (which runs
//! [`Tier::require`] first) or [`active`] (whose tier came from [`Tier::active`], available
//! by construction), so holding a `&Kernels` proves that its functions may run on this CPU.

use std::sync::OnceLock;

use super::{SumArgs, portable};
use crate::error::Result;
use crate::tier::Tier;

/// One tier's kernel entry point and its tile limit.
pub(crate) struct Kernels {
    /// The tier these kernels belong to.
    pub(crate) tier: Tier,
    /// The masked sums of one block against one tile of items.
    pub(crate) block_sums: unsafe fn(&mut SumArgs<'_>),
    /// Most items per tile.
    pub(crate) max_items: usize,
}

static PORTABLE: Kernels = Kernels {
    tier: Tier::Portable,
    block_sums: portable::block_sums,
    max_items: portable::MAX_ITEMS,
};

// `popcnt` brings nothing to float sums; the tier runs the portable kernel under its name.
#[cfg(target_arch = "x86_64")]
static POPCNT: Kernels = Kernels {
    tier: Tier::Popcnt,
    block_sums: portable::block_sums,
    max_items: portable::MAX_ITEMS,
};

#[cfg(target_arch = "x86_64")]
static AVX2: Kernels = Kernels {
    tier: Tier::Avx2,
    block_sums: super::x86_avx2::block_sums,
    max_items: super::x86_avx2::MAX_ITEMS,
};

#[cfg(target_arch = "x86_64")]
static AVX512: Kernels = Kernels {
    tier: Tier::Avx512,
    block_sums: super::x86_avx512::block_sums,
    max_items: super::x86_avx512::MAX_ITEMS,
};

// No NEON kernel yet: the tier runs the portable kernel under its name.
#[cfg(target_arch = "aarch64")]
static NEON: Kernels = Kernels {
    tier: Tier::Neon,
    block_sums: portable::block_sums,
    max_items: portable::MAX_ITEMS,
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
                Ok(k) => {
                    assert_eq!(k.tier, t);
                    assert!((1..=super::super::MAX_TILE_ITEMS).contains(&k.max_items));
                }
                Err(e) => assert!(!t.is_available(), "{t}: {e}"),
            }
        }
        assert_eq!(active().tier, Tier::active());
    }
}
