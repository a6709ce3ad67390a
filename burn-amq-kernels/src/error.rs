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
    /// A packed file does not start with [`crate::format::MAGIC`].
    #[error("not a burn-amq packed file (magic bytes {found:02x?})")]
    BadMagic {
        /// The first eight bytes that were found.
        found: [u8; 8],
    },
    /// A packed file has a format version this build cannot read.
    #[error("unsupported packed file version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version stored in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A packed file sets preamble flags this build does not know.
    #[error("unsupported packed file flags {flags:#010x}")]
    UnsupportedFlags {
        /// The flags stored in the file.
        flags: u32,
    },
    /// A packed file ends before the lengths in its preamble say it should.
    #[error("packed file truncated: needs {needed} bytes, only {available} available")]
    Truncated {
        /// Bytes the file should hold (saturated at `u64::MAX`).
        needed: u64,
        /// Bytes that were available.
        available: u64,
    },
    /// The checksum of the header and payload does not match the one in the preamble.
    #[error("packed file checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// The CRC-32 stored in the preamble.
        stored: u32,
        /// The CRC-32 of the bytes that were read.
        computed: u32,
    },
    /// A packed file is structurally broken outside the JSON header (non-zero reserved bytes,
    /// trailing bytes, misaligned header length).
    #[error("corrupt packed file: {0}")]
    CorruptFile(String),
    /// The JSON header of a packed file cannot be parsed or does not follow the schema.
    #[error("invalid packed file header: {0}")]
    InvalidHeader(String),
    /// A tensor's byte range lies (partly) outside the payload.
    #[error(
        "tensor {tensor:?}: byte range {offset}+{len} lies outside the payload ({payload_len} bytes)"
    )]
    SegmentOutOfRange {
        /// The tensor part (`name.alphas`, `name.planes` or `name.data`).
        tensor: String,
        /// Declared offset in the payload.
        offset: u64,
        /// Declared length in bytes.
        len: u64,
        /// Length of the payload.
        payload_len: u64,
    },
    /// A tensor's byte offset is not a multiple of 8.
    #[error("tensor {tensor:?}: payload offset {offset} is not 8-byte aligned")]
    SegmentMisaligned {
        /// The tensor part.
        tensor: String,
        /// Declared offset in the payload.
        offset: u64,
    },
    /// Two tensors' byte ranges overlap.
    #[error("tensor data of {first:?} and {second:?} overlap")]
    SegmentOverlap {
        /// The part that starts first.
        first: String,
        /// The part that starts inside it.
        second: String,
    },
    /// A tensor's byte length does not match its declared shape.
    #[error("tensor {tensor:?}: {part} should be {expected} bytes, header says {actual}")]
    TensorSizeMismatch {
        /// The tensor name.
        tensor: String,
        /// Which part (`alphas`, `planes` or `data`).
        part: &'static str,
        /// Bytes the shape implies.
        expected: u64,
        /// Bytes the header declares.
        actual: u64,
    },
    /// A tensor's contents are invalid (the wrapped error says why).
    #[error("tensor {tensor:?}: {source}")]
    InvalidTensor {
        /// The tensor name.
        tensor: String,
        /// What is wrong with it.
        source: Box<AmqError>,
    },
    /// Two tensors share a name.
    #[error("duplicate tensor name {0:?}")]
    DuplicateTensor(String),
    /// No tensor has the requested name.
    #[error("no tensor named {0:?}")]
    TensorNotFound(String),
    /// A tensor exists but is of another kind than requested.
    #[error("tensor {tensor:?} is {found}, expected {expected}")]
    WrongTensorKind {
        /// The tensor name.
        tensor: String,
        /// The requested kind.
        expected: &'static str,
        /// The stored kind.
        found: &'static str,
    },
    /// A tensor exists but has another shape than requested.
    #[error("tensor {tensor:?} has shape {found:?}, expected {expected:?}")]
    TensorShapeMismatch {
        /// The tensor name.
        tensor: String,
        /// The requested shape.
        expected: Vec<usize>,
        /// The stored shape.
        found: Vec<usize>,
    },
    /// An I/O operation failed (kind and message of the `std::io::Error`).
    #[error("I/O error ({kind:?}): {message}")]
    Io {
        /// The error kind.
        kind: std::io::ErrorKind,
        /// The error message.
        message: String,
    },
}

impl From<std::io::Error> for AmqError {
    fn from(e: std::io::Error) -> Self {
        AmqError::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
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
