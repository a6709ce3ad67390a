//! The packed model file: named bit-plane and f32 tensors plus string metadata.
//!
//! Packed models are written once (after quantization) and loaded for CPU inference by
//! programs that need not use Burn. A file is, little-endian throughout:
//!
//! 1. a 48-byte [`Preamble`]: magic [`MAGIC`], [`FORMAT_VERSION`], flags (0), the JSON header
//!    length, the payload length, a CRC-32 of (preamble bytes 0..32, header, payload), and
//!    zeroed reserved bytes;
//! 2. a UTF-8 JSON header, padded with spaces to a multiple of 8 bytes: the metadata map and,
//!    for every tensor, its name, kind, shape and byte ranges in the payload;
//! 3. the payload: every tensor part (α, planes, f32 data) 8-byte aligned, zero padding
//!    between parts.
//!
//! The exact layout is described in `ARCHITECTURE.md` ("File format"). Bit-plane tensors are
//! stored in the row-major [`BitPlanes`](crate::BitPlanes) layout; packing into the kernel
//! layouts happens after loading.
//!
//! Reading validates everything (magic, version, flags, lengths against the bytes actually
//! present, checksum, JSON schema, ranges, alignment, overlaps, sizes against shapes, finite
//! values, zero padding bits, unique names) and returns a typed [`AmqError`](crate::AmqError);
//! it never panics on file data and never allocates more than the bytes it was given (or read)
//! justify.
//!
//! On-disk overhead over [`BitPlanes::packed_bytes`](crate::BitPlanes::packed_bytes) (and
//! 4 bytes per f32 value): 48 bytes of preamble, the JSON header (about 150 bytes per tensor
//! plus the metadata), and at most 7 bytes of alignment padding per tensor part.
//!
//! ```
//! use burn_amq_kernels::BitPlanes;
//! use burn_amq_kernels::format::{PackedFile, PackedTensor};
//!
//! let mut file = PackedFile::new();
//! file.insert_meta("model", "mlp");
//! let planes = BitPlanes::from_parts(1, 3, 1, vec![0.5], vec![0b101])?;
//! file.push("fc1.weight", PackedTensor::BitPlanes(planes.clone()))?;
//! file.push("fc1.bias", PackedTensor::F32 { shape: vec![1], data: vec![0.25] })?;
//!
//! let mut loaded = PackedFile::from_bytes(&file.to_bytes())?;
//! assert_eq!(loaded.meta("model"), Some("mlp"));
//! assert_eq!(loaded.take_bit_planes("fc1.weight")?, planes);
//! assert_eq!(loaded.take_f32("fc1.bias", &[1])?, vec![0.25]);
//! # Ok::<(), burn_amq_kernels::AmqError>(())
//! ```

mod bytes;
mod file;
mod header;
mod preamble;
mod read;
mod tensor;
mod write;

pub use file::PackedFile;
pub use preamble::{CHECKSUM_OFFSET, PREAMBLE_LEN, Preamble};
pub use tensor::PackedTensor;

/// The first eight bytes of every packed file.
pub const MAGIC: [u8; 8] = *b"BURNAMQ\0";

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
