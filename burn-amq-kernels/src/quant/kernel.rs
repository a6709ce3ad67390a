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
    /// kernels: the passes are memory-light and the portable code autovectorises).
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

    /// Plane ← sign(r), returns `Σ|r|`.
    #[inline]
    pub(crate) fn sign_abs_sum(self, r: &[f32], plane: &mut [u64]) -> f64 {
        match self {
            Kern::Portable => portable::sign_abs_sum(r, plane),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kern::Avx512` is only built by `for_tier` after run-time detection.
            Kern::Avx512 => unsafe { super::avx512::sign_abs_sum(r, plane) },
        }
    }

    /// `r ← r − a·b`.
    #[inline]
    pub(crate) fn sub_plane(self, r: &mut [f32], plane: &[u64], a: f32) {
        match self {
            Kern::Portable => portable::sub_plane(r, plane, a),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kern::Avx512` is only built by `for_tier` after run-time detection.
            Kern::Avx512 => unsafe { super::avx512::sub_plane(r, plane, a) },
        }
    }

    /// `out[i] = bᵢ · w`.
    #[inline]
    pub(crate) fn plane_dots(self, w: &[f32], planes: &[u64], words: usize, out: &mut [f64]) {
        match self {
            Kern::Portable => portable::plane_dots(w, planes, words, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kern::Avx512` is only built by `for_tier` after run-time detection.
            Kern::Avx512 => unsafe { super::avx512::plane_dots(w, planes, words, out) },
        }
    }

    /// `r ← w − Σ αᵢ bᵢ`.
    #[inline]
    pub(crate) fn residual(
        self,
        w: &[f32],
        planes: &[u64],
        words: usize,
        alphas: &[f32],
        r: &mut [f32],
    ) {
        match self {
            Kern::Portable => portable::residual(w, planes, words, alphas, r),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kern::Avx512` is only built by `for_tier` after run-time detection.
            Kern::Avx512 => unsafe { super::avx512::residual(w, planes, words, alphas, r) },
        }
    }

    /// Planes ← nearest codes of `w` for `table`.
    #[inline]
    pub(crate) fn bst_assign(self, w: &[f32], table: &CodeTable, planes: &mut [u64], words: usize) {
        match self {
            Kern::Portable => portable::bst_assign(w, table, planes, words),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kern::Avx512` is only built by `for_tier` after run-time detection.
            Kern::Avx512 => unsafe { super::avx512::bst_assign(w, table, planes, words) },
        }
    }
}
