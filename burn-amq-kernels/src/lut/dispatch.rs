//! Kernel selection: one set of function pointers per tier, chosen without per-call feature
//! checks (the CPU is probed once, by [`Tier`]).

use std::sync::OnceLock;

use super::layout::LutWeights;
use super::portable::CombineFn;
use super::tables::{self, BuildFn};
use crate::error::Result;
use crate::tier::Tier;

/// A block kernel: the raw biased sums `raw[plane·16 + row]` of one 16-row block against one
/// vector's tables (see [`super::portable::block_kernel`]).
pub(crate) type BlockFn = unsafe fn(&LutWeights, usize, &[u8], &mut [i32]);

/// The function pointers of one tier.
#[derive(Clone, Copy)]
pub(crate) struct Kernels {
    /// Table builder (bit-identical across tiers).
    pub(crate) build: BuildFn,
    /// Block kernel (bit-identical integer sums across tiers).
    pub(crate) block: BlockFn,
    /// Final per-block combination (bit-identical across tiers).
    pub(crate) combine: CombineFn,
}

fn portable() -> Kernels {
    Kernels {
        build: tables::build_portable,
        block: super::portable::block_kernel,
        combine: super::portable::combine,
    }
}

/// The kernels of `tier`, which must be available here (checked; [`AmqError::TierUnavailable`]
/// otherwise). Only this function hands out `#[target_feature]` pointers, and only after
/// `tier.require()` has confirmed the features at run time.
///
/// [`AmqError::TierUnavailable`]: crate::AmqError::TierUnavailable
pub(crate) fn kernels(tier: Tier) -> Result<Kernels> {
    let tier = tier.require()?;
    Ok(match tier {
        #[cfg(target_arch = "x86_64")]
        Tier::Avx512 => Kernels {
            build: super::x86_avx512::build_tables,
            // The tier guarantees AVX-512F/BW; `vpermb` (VBMI) is probed here on top.
            block: if super::x86_avx512::has_vbmi() {
                super::x86_avx512::block_kernel_vbmi
            } else {
                super::x86_avx512::block_kernel
            },
            combine: super::portable::combine_avx512,
        },
        #[cfg(target_arch = "x86_64")]
        Tier::Avx2 => Kernels {
            build: super::x86_avx2::build_tables,
            block: super::x86_avx2::block_kernel,
            combine: super::portable::combine_avx2,
        },
        #[cfg(target_arch = "aarch64")]
        Tier::Neon => Kernels {
            build: tables::build_portable,
            block: super::aarch64_neon::block_kernel,
            combine: super::portable::combine,
        },
        _ => portable(),
    })
}

/// The kernels of [`Tier::active`], resolved once per process.
pub(crate) fn active() -> Kernels {
    static ACTIVE: OnceLock<Kernels> = OnceLock::new();
    *ACTIVE.get_or_init(|| kernels(Tier::active()).unwrap_or_else(|_| portable()))
}
