//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong when quantizing, packing or multiplying.
///
/// Kernels validate shapes and values once at their entry points and then run without checks;
/// every public function that takes user data returns this error instead of panicking.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AmqError {
    /// The number of bits is outside `1..=8`.
    #[error("bits must be in 1..={max}, got {bits}", max = crate::MAX_BITS)]
    BitsOutOfRange {
        /// The rejected value.
        bits: usize,
    },
    /// An input that must hold at least one element is empty.
    #[error("{what} is empty")]
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// A NaN or an infinity was found in the input.
    #[error("{what} holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Flat index of the first non-finite value.
        index: usize,
        /// The value itself.
        value: f32,
    },
    /// A buffer does not have the length its shape implies.
    #[error("{what}: expected length {expected}, got {actual}")]
    LengthMismatch {
        /// Which buffer.
        what: &'static str,
        /// The length the shape implies.
        expected: usize,
        /// The length that was passed.
        actual: usize,
    },
    /// Two operands do not fit together (e.g. inner dimensions differ).
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A parameter has an invalid value (e.g. zero alternating cycles where one is required).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A SIMD tier was requested that this CPU (or this build) cannot run.
    #[error("kernel tier {0} is not available on this machine")]
    TierUnavailable(&'static str),
    /// A tier name (for example from `AMQ_KERNEL_TIER`) is not recognised.
    #[error("unknown kernel tier {0:?} (expected one of: avx512, avx2, popcnt, portable, neon)")]
    UnknownTier(String),
}

/// Shorthand for `Result<T, AmqError>`.
pub type Result<T> = std::result::Result<T, AmqError>;

/// Checks `bits` is in `1..=MAX_BITS`.
pub fn check_bits(bits: usize) -> Result<()> {
    if (1..=crate::MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(AmqError::BitsOutOfRange { bits })
    }
}

/// Returns the first non-finite value of `values` as an error.
pub fn check_finite(what: &'static str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(AmqError::NonFinite {
            what,
            index,
            value: values[index],
        }),
    }
}

/// Checks that a buffer has the expected length.
pub fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(AmqError::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}
