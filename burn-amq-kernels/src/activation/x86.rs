//! AVX2 and AVX-512 entry points: the portable bodies compiled with wider vectors.
//!
//! Only the vector width changes; the operations and their order are those of
//! [`super::portable`], so the results are bit-identical to it.

use super::portable::{sigmoid_body, tanh_body};

/// # Safety
/// The CPU must support AVX2 (the caller checked [`crate::Tier::Avx2`] or better).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn sigmoid_in_place_avx2(v: &mut [f32]) {
    sigmoid_body(v)
}

/// # Safety
/// As [`sigmoid_in_place_avx2`].
#[target_feature(enable = "avx2")]
pub(super) unsafe fn tanh_in_place_avx2(v: &mut [f32]) {
    tanh_body(v)
}

/// # Safety
/// The CPU must support AVX-512F (the caller checked [`crate::Tier::Avx512`]).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn sigmoid_in_place_avx512(v: &mut [f32]) {
    sigmoid_body(v)
}

/// # Safety
/// As [`sigmoid_in_place_avx512`].
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn tanh_in_place_avx512(v: &mut [f32]) {
    tanh_body(v)
}
