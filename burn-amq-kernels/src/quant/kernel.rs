//! Run-time dispatch of the quantizer passes to the portable or the AVX-512 kernels.

use super::bst::CodeTable;
use super::portable;
use crate::tier::Tier;

/// Which implementation runs the passes. A value other than `Portable` exists only when its
/// instruction set was detected at run time (see [`Kern::for_tier`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kern {
    /// [`portable`], the reference.
    Portable,
    /// [`super::avx512`].
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kern {
    /// The kernels for `tier`: AVX-512 when that tier is asked for and available, the
    /// portable reference otherwise (AVX2, POPCNT and NEON have no dedicated quantizer
    /// kernels yet).
    pub(crate) fn for_tier(tier: Tier) -> Kern {
        #[cfg(target_arch = "x86_64")]
        if tier == Tier::Avx512 && tier.is_available() {
            return Kern::Avx512;
        }
        let _ = tier;
        Kern::Portable
    }

    /// The kernels for [`Tier::active`] (which honours `AMQ_KERNEL_TIER`).
    pub(crate) fn active() -> Kern {
        Kern::for_tier(Tier::active())
    }

    /// See [`portable::greedy_pass`].
    #[inline]
    pub(crate) fn greedy_pass(
        self,
        w: &[f32],
        planes: &[u64],
        words: usize,
        prior: &[f32],
        out: &mut [u64],
    ) -> (f64, f64) {
        match self {
            Kern::Portable => portable::greedy_pass(w, planes, words, prior, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kern::Avx512` is only built by `for_tier` after run-time detection.
            Kern::Avx512 => unsafe { super::avx512::greedy_pass(w, planes, words, prior, out) },
        }
    }

    /// `a · b` for two ±1 planes of length `n` (see [`super::lsq::plane_dot`]).
    #[inline]
    pub(crate) fn plane_dot(self, n: usize, a: &[u64], b: &[u64]) -> f64 {
        match self {
            Kern::Portable => super::lsq::plane_dot(n, a, b),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kern::Avx512` is only built by `for_tier` after run-time detection.
            Kern::Avx512 => unsafe { super::avx512::plane_dot(n, a, b) },
        }
    }

    /// See [`portable::bst_assign`].
    #[inline]
    pub(crate) fn bst_assign(
        self,
        w: &[f32],
        table: &CodeTable,
        planes: &mut [u64],
        words: usize,
        dots: &mut [f64],
    ) {
        match self {
            Kern::Portable => portable::bst_assign(w, table, planes, words, dots),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kern::Avx512` is only built by `for_tier` after run-time detection.
            Kern::Avx512 => unsafe { super::avx512::bst_assign(w, table, planes, words, dots) },
        }
    }
}
