//! The fixed-size preamble at the start of a packed file.

use bytemuck::{Pod, Zeroable};

use super::{FORMAT_VERSION, MAGIC};
use crate::error::{AmqError, Result};

/// Size of the [`Preamble`] in bytes.
pub const PREAMBLE_LEN: usize = 48;

/// Offset of [`Preamble::checksum`]; the checksum covers the preamble bytes before it.
pub const CHECKSUM_OFFSET: usize = 32;

/// The first [`PREAMBLE_LEN`] bytes of a packed file (all integers little-endian on disk).
///
/// | bytes  | field         |
/// |--------|---------------|
/// | 0..8   | `magic`       |
/// | 8..12  | `version`     |
/// | 12..16 | `flags`       |
/// | 16..24 | `header_len`  |
/// | 24..32 | `payload_len` |
/// | 32..36 | `checksum`    |
/// | 36..48 | `reserved`    |
///
/// The fields hold host-order values; [`Preamble::to_bytes`] and [`Preamble::parse`] convert.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct Preamble {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// Feature flags; none are defined in version 1, so this must be 0.
    pub flags: u32,
    /// Length of the JSON header in bytes (a multiple of 8).
    pub header_len: u64,
    /// Length of the payload in bytes.
    pub payload_len: u64,
    /// CRC-32 (IEEE) of preamble bytes `0..32` (magic to payload length, as stored), then
    /// the header bytes, then the payload bytes; see [`Preamble::compute_checksum`].
    pub checksum: u32,
    /// Must be zero.
    pub reserved: [u32; 3],
}

const _: () = assert!(size_of::<Preamble>() == PREAMBLE_LEN);
const _: () = assert!(std::mem::offset_of!(Preamble, checksum) == CHECKSUM_OFFSET);

impl Preamble {
    /// The version-1 preamble of a file with this header and payload (lengths and checksum
    /// filled in).
    pub fn for_parts(header: &[u8], payload: &[u8]) -> Self {
        let mut p = Self::new(header.len() as u64, payload.len() as u64, 0);
        p.checksum = p.compute_checksum(header, payload);
        p
    }

    /// The checksum a file with this preamble (its fields before `checksum`), `header` and
    /// `payload` should store.
    pub fn compute_checksum(&self, header: &[u8], payload: &[u8]) -> u32 {
        let mut h = self.hasher();
        h.update(header);
        h.update(payload);
        h.finalize()
    }

    /// A CRC-32 hasher that has already consumed the preamble bytes the checksum covers.
    pub(crate) fn hasher(&self) -> crc32fast::Hasher {
        let mut h = crc32fast::Hasher::new();
        h.update(&self.to_bytes()[..CHECKSUM_OFFSET]);
        h
    }

    /// A version-1 preamble for the given lengths and checksum.
    pub fn new(header_len: u64, payload_len: u64, checksum: u32) -> Self {
        Self {
            magic: MAGIC,
            version: FORMAT_VERSION,
            flags: 0,
            header_len,
            payload_len,
            checksum,
            reserved: [0; 3],
        }
    }

    /// The on-disk (little-endian) bytes.
    pub fn to_bytes(&self) -> [u8; PREAMBLE_LEN] {
        let le = Self {
            magic: self.magic,
            version: self.version.to_le(),
            flags: self.flags.to_le(),
            header_len: self.header_len.to_le(),
            payload_len: self.payload_len.to_le(),
            checksum: self.checksum.to_le(),
            reserved: self.reserved.map(u32::to_le),
        };
        bytemuck::cast(le)
    }

    /// Decodes the first [`PREAMBLE_LEN`] bytes of `bytes` and checks magic, version, flags
    /// and reserved bytes (not the lengths or the checksum, which need the rest of the file).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let Some(head) = bytes.get(..PREAMBLE_LEN) else {
            return Err(AmqError::Truncated {
                needed: PREAMBLE_LEN as u64,
                available: bytes.len() as u64,
            });
        };
        let raw: Self = bytemuck::pod_read_unaligned(head);
        let p = Self {
            magic: raw.magic,
            version: u32::from_le(raw.version),
            flags: u32::from_le(raw.flags),
            header_len: u64::from_le(raw.header_len),
            payload_len: u64::from_le(raw.payload_len),
            checksum: u32::from_le(raw.checksum),
            reserved: raw.reserved.map(u32::from_le),
        };
        if p.magic != MAGIC {
            return Err(AmqError::BadMagic { found: p.magic });
        }
        if p.version != FORMAT_VERSION {
            return Err(AmqError::UnsupportedVersion {
                found: p.version,
                supported: FORMAT_VERSION,
            });
        }
        if p.flags != 0 {
            return Err(AmqError::UnsupportedFlags { flags: p.flags });
        }
        if p.reserved != [0; 3] {
            return Err(AmqError::CorruptFile(
                "reserved preamble bytes are not zero".into(),
            ));
        }
        if !p.header_len.is_multiple_of(8) {
            return Err(AmqError::CorruptFile(format!(
                "header length {} is not a multiple of 8",
                p.header_len
            )));
        }
        Ok(p)
    }

    /// Total file length the preamble declares (saturating at `u64::MAX`).
    pub fn file_len(&self) -> u64 {
        (PREAMBLE_LEN as u64)
            .saturating_add(self.header_len)
            .saturating_add(self.payload_len)
    }
}
