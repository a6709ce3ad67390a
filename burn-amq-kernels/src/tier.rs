//! SIMD tiers: what this CPU can run, detected once at run time.
//!
//! Kernels ship one implementation per tier (one file per ISA) and pick one through
//! [`Tier::active`], which is computed once and cached. The environment variable
//! [`TIER_ENV`] (`AMQ_KERNEL_TIER=avx512|avx2|popcnt|portable|neon`) forces a tier, for tests
//! and for comparing tiers on one machine; forcing a tier the CPU lacks is refused.

use std::sync::OnceLock;

use crate::error::{AmqError, Result};

/// Environment variable that forces the kernel tier.
pub const TIER_ENV: &str = "AMQ_KERNEL_TIER";

/// An instruction-set tier, fastest first on x86-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// x86-64 with AVX-512F, AVX-512BW and AVX-512 VPOPCNTDQ.
    Avx512,
    /// x86-64 with AVX2 (and FMA, POPCNT).
    Avx2,
    /// x86-64 scalar code compiled with the `popcnt` instruction.
    Popcnt,
    /// aarch64 NEON (`vcnt`).
    Neon,
    /// Plain portable Rust; runs everywhere.
    Portable,
}

impl Tier {
    /// Every tier, in preference order.
    pub const ALL: [Tier; 5] = [
        Tier::Avx512,
        Tier::Avx2,
        Tier::Popcnt,
        Tier::Neon,
        Tier::Portable,
    ];

    /// Short lowercase name, as accepted by [`TIER_ENV`].
    pub const fn name(self) -> &'static str {
        match self {
            Tier::Avx512 => "avx512",
            Tier::Avx2 => "avx2",
            Tier::Popcnt => "popcnt",
            Tier::Neon => "neon",
            Tier::Portable => "portable",
        }
    }

    /// Parses a tier name (case-insensitive).
    pub fn parse(name: &str) -> Result<Tier> {
        let lower = name.trim().to_ascii_lowercase();
        Tier::ALL
            .into_iter()
            .find(|t| t.name() == lower)
            .ok_or(AmqError::UnknownTier(name.to_string()))
    }

    /// Whether this CPU (and this build's target architecture) can run the tier.
    pub fn is_available(self) -> bool {
        match self {
            Tier::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Tier::Popcnt => std::arch::is_x86_feature_detected!("popcnt"),
            #[cfg(target_arch = "aarch64")]
            Tier::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Returns `self` if available, else [`AmqError::TierUnavailable`].
    pub fn require(self) -> Result<Tier> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(AmqError::TierUnavailable(self.name()))
        }
    }

    /// Every tier this machine can run, fastest first (always ends with `Portable`).
    pub fn available() -> Vec<Tier> {
        Tier::ALL.into_iter().filter(|t| t.is_available()).collect()
    }

    /// The fastest available tier, ignoring the environment.
    pub fn best() -> Tier {
        Tier::ALL
            .into_iter()
            .find(|t| t.is_available())
            .unwrap_or(Tier::Portable)
    }

    /// The tier kernels use by default: [`TIER_ENV`] when set (and valid and available),
    /// otherwise [`Tier::best`]. Computed once per process.
    ///
    /// An invalid or unavailable forced tier falls back to [`Tier::best`] and reports the
    /// problem through [`Tier::env_override`]; use that to surface the error to users.
    pub fn active() -> Tier {
        static ACTIVE: OnceLock<Tier> = OnceLock::new();
        *ACTIVE.get_or_init(|| match Tier::env_override() {
            Ok(Some(t)) => t,
            _ => Tier::best(),
        })
    }

    /// The tier forced by [`TIER_ENV`], if any: `Ok(None)` when unset, an error when the
    /// name is unknown or the tier is not available here.
    pub fn env_override() -> Result<Option<Tier>> {
        match std::env::var(TIER_ENV) {
            Ok(v) if !v.trim().is_empty() => Tier::parse(&v)?.require().map(Some),
            _ => Ok(None),
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_rejects_unknown() {
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.name()).unwrap(), t);
        }
        assert_eq!(Tier::parse(" AVX2 ").unwrap(), Tier::Avx2);
        assert!(matches!(Tier::parse("sse9"), Err(AmqError::UnknownTier(_))));
    }

    #[test]
    fn portable_is_always_available_and_last() {
        let tiers = Tier::available();
        assert_eq!(tiers.last(), Some(&Tier::Portable));
        assert!(Tier::active().is_available());
        assert!(tiers.contains(&Tier::best()));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn neon_is_unavailable_on_x86() {
        assert!(matches!(
            Tier::Neon.require(),
            Err(AmqError::TierUnavailable("neon"))
        ));
    }
}
