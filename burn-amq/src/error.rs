//! The error type of the Burn side of burn-amq.

/// Why a quantizer, a layer configuration, a conversion or a packed-inference call was
/// rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A bit width outside `1..=8` was requested.
    #[error("{what} must be in 1..=8 bits, got {bits}")]
    InvalidBits {
        /// Which setting carried the bad value (e.g. "weight_bits").
        what: &'static str,
        /// The rejected value.
        bits: usize,
    },
    /// A layer dimension was zero.
    #[error("{what} must be at least 1, got 0")]
    ZeroDimension {
        /// Which dimension was zero (e.g. "d_hidden").
        what: &'static str,
    },
    /// A `burn::nn` module uses a feature the quantized layer does not implement; converting it
    /// would silently compute a different function.
    #[error("cannot convert burn::nn::{module}: {reason}")]
    UnsupportedModule {
        /// The source module type (e.g. "Lstm").
        module: &'static str,
        /// The unsupported setting.
        reason: String,
    },
    /// A layer with full-precision weights cannot be packed: there are no bit planes.
    #[error("cannot pack {layer}: its weights are not quantized (weight_bits is None)")]
    NotQuantized {
        /// The layer type (e.g. "QuantLinear").
        layer: &'static str,
    },
    /// A buffer handed to a packed layer has the wrong length.
    #[error("{what}: expected length {expected}, got {actual}")]
    LengthMismatch {
        /// Which buffer (e.g. "x").
        what: &'static str,
        /// The length the layer needs.
        expected: usize,
        /// The length it got.
        actual: usize,
    },
    /// An embedding index is not a row of the table.
    #[error("index {index} is outside the table of {rows} rows")]
    IndexOutOfRange {
        /// The rejected index.
        index: usize,
        /// Rows in the table.
        rows: usize,
    },
    /// A `burn-amq-kernels` call failed (non-finite input, unsupported shape, ...).
    #[error("kernel: {0}")]
    Kernel(#[from] burn_amq_kernels::AmqError),
}

/// Result alias with [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
