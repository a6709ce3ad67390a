//! The tensors a packed file holds.

use crate::error::{AmqError, Result, check_finite, check_len};
use crate::pack::BitPlanes;

/// One named tensor of a [`PackedFile`](super::PackedFile).
#[derive(Debug, Clone, PartialEq)]
pub enum PackedTensor {
    /// Binary-coded rows in the row-major bit-plane layout (α must be finite).
    BitPlanes(BitPlanes),
    /// A plain f32 tensor (biases, full-precision layers), row-major; values must be finite.
    F32 {
        /// Dimensions; the empty shape is a scalar (one value).
        shape: Vec<usize>,
        /// `shape.iter().product()` values.
        data: Vec<f32>,
    },
}

impl PackedTensor {
    /// `"bit_planes"` or `"f32"`: the kind as written in the file header.
    pub fn kind(&self) -> &'static str {
        match self {
            PackedTensor::BitPlanes(_) => KIND_BIT_PLANES,
            PackedTensor::F32 { .. } => KIND_F32,
        }
    }

    /// Checks what a reader would check: finite α, and for f32 tensors a data length that
    /// matches the shape and finite values.
    pub(crate) fn validate(&self) -> Result<()> {
        match self {
            PackedTensor::BitPlanes(p) => check_finite("alphas", p.alphas()),
            PackedTensor::F32 { shape, data } => {
                let count = element_count(shape).ok_or_else(|| {
                    AmqError::InvalidArgument(format!("shape {shape:?} overflows usize"))
                })?;
                check_len("f32 tensor data", count, data.len())?;
                check_finite("f32 tensor data", data)
            }
        }
    }
}

/// Header name of [`PackedTensor::BitPlanes`].
pub(crate) const KIND_BIT_PLANES: &str = "bit_planes";
/// Header name of [`PackedTensor::F32`].
pub(crate) const KIND_F32: &str = "f32";

/// Number of elements of `shape`, `None` on overflow.
pub(crate) fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}
