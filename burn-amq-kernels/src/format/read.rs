//! Deserialization and validation.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use super::bytes::{read_f32s, read_u64s};
use super::file::PackedFile;
use super::header::{Header, Segment, TensorEntry};
use super::preamble::{PREAMBLE_LEN, Preamble};
use super::tensor::PackedTensor;
use crate::error::{AmqError, Result, check_finite};
use crate::pack::BitPlanes;

impl PackedFile {
    /// Parses and validates a packed file held in memory; `bytes` must be exactly one file
    /// (trailing bytes are [`AmqError::CorruptFile`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let p = Preamble::parse(bytes)?;
        let needed = p.file_len();
        let available = bytes.len() as u64;
        if available < needed {
            return Err(AmqError::Truncated { needed, available });
        }
        if available > needed {
            return Err(AmqError::CorruptFile(format!(
                "{} trailing bytes after the payload",
                available - needed
            )));
        }
        // Both lengths are now bounded by `bytes.len()`, so they fit in usize.
        let (header, payload) = bytes[PREAMBLE_LEN..].split_at(p.header_len as usize);
        decode(&p, header, payload)
    }

    /// Reads and validates one packed file from `r`, consuming exactly its bytes (whatever
    /// follows in the stream is left unread). Buffers grow with the bytes actually read, so a
    /// corrupted length field cannot trigger a huge allocation.
    pub fn read_from(r: &mut impl Read) -> Result<Self> {
        let preamble = read_counted(r, PREAMBLE_LEN as u64, 0, PREAMBLE_LEN as u64)?;
        let p = Preamble::parse(&preamble)?;
        let header = read_counted(r, p.header_len, PREAMBLE_LEN as u64, p.file_len())?;
        let before = PREAMBLE_LEN as u64 + p.header_len;
        let payload = read_counted(r, p.payload_len, before, p.file_len())?;
        decode(&p, &header, &payload)
    }
}

/// Reads exactly `len` bytes; `before` bytes of the file precede them and the file should be
/// `needed` bytes long (both for the error report).
fn read_counted(r: &mut impl Read, len: u64, before: u64, needed: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(len).read_to_end(&mut out)?;
    let got = out.len() as u64;
    if got < len {
        return Err(AmqError::Truncated {
            needed,
            available: before + got,
        });
    }
    Ok(out)
}

/// Checks the checksum, parses the header and decodes every tensor.
fn decode(p: &Preamble, header: &[u8], payload: &[u8]) -> Result<PackedFile> {
    let computed = p.compute_checksum(header, payload);
    if computed != p.checksum {
        return Err(AmqError::ChecksumMismatch {
            stored: p.checksum,
            computed,
        });
    }
    let header: Header =
        serde_json::from_slice(header).map_err(|e| AmqError::InvalidHeader(e.to_string()))?;

    let mut names = HashSet::new();
    for t in &header.tensors {
        if !names.insert(t.name()) {
            return Err(AmqError::DuplicateTensor(t.name().to_owned()));
        }
    }

    let payload_len = payload.len() as u64;
    let mut segments = Vec::new();
    for t in &header.tensors {
        for (part, seg, expected) in parts(t)? {
            let label = format!("{}.{part}", t.name());
            if seg.len != expected {
                return Err(AmqError::TensorSizeMismatch {
                    tensor: t.name().to_owned(),
                    part,
                    expected,
                    actual: seg.len,
                });
            }
            check_segment(&label, seg, payload_len)?;
            segments.push((seg, label));
        }
    }
    check_overlaps(&mut segments)?;

    let mut tensors = Vec::with_capacity(header.tensors.len());
    for t in header.tensors {
        let (name, tensor) = build(t, payload)?;
        tensors.push((name, tensor));
    }
    Ok(PackedFile {
        metadata: BTreeMap::from_iter(header.metadata),
        tensors,
    })
}

/// The parts of a tensor entry: `(part name, segment, byte length its shape implies)`.
fn parts(t: &TensorEntry) -> Result<Vec<(&'static str, Segment, u64)>> {
    let overflow = || AmqError::InvalidHeader(format!("tensor {:?}: shape overflows", t.name()));
    match t {
        TensorEntry::BitPlanes {
            rows,
            n,
            bits,
            alphas,
            planes,
            ..
        } => {
            if let Err(e) = crate::error::check_bits(usize::try_from(*bits).unwrap_or(usize::MAX)) {
                return Err(invalid(t.name(), e));
            }
            let coeffs = rows.checked_mul(*bits).ok_or_else(overflow)?;
            let alpha_bytes = coeffs.checked_mul(4).ok_or_else(overflow)?;
            let plane_bytes = coeffs
                .checked_mul(n.div_ceil(64))
                .and_then(|w| w.checked_mul(8))
                .ok_or_else(overflow)?;
            Ok(vec![
                ("alphas", *alphas, alpha_bytes),
                ("planes", *planes, plane_bytes),
            ])
        }
        TensorEntry::F32 { shape, data, .. } => {
            let bytes = shape
                .iter()
                .try_fold(4u64, |acc, &d| acc.checked_mul(d))
                .ok_or_else(overflow)?;
            Ok(vec![("data", *data, bytes)])
        }
    }
}

fn check_segment(label: &str, seg: Segment, payload_len: u64) -> Result<()> {
    if !seg.offset.is_multiple_of(8) {
        return Err(AmqError::SegmentMisaligned {
            tensor: label.to_owned(),
            offset: seg.offset,
        });
    }
    match seg.offset.checked_add(seg.len) {
        Some(end) if end <= payload_len => Ok(()),
        _ => Err(AmqError::SegmentOutOfRange {
            tensor: label.to_owned(),
            offset: seg.offset,
            len: seg.len,
            payload_len,
        }),
    }
}

/// Rejects overlapping non-empty segments (all already checked to lie inside the payload).
fn check_overlaps(segments: &mut [(Segment, String)]) -> Result<()> {
    segments.sort_by_key(|(s, _)| (s.offset, s.len));
    let mut prev: Option<&(Segment, String)> = None;
    for cur in segments.iter().filter(|(s, _)| s.len > 0) {
        if let Some(p) = prev
            && cur.0.offset < p.0.offset + p.0.len
        {
            return Err(AmqError::SegmentOverlap {
                first: p.1.clone(),
                second: cur.1.clone(),
            });
        }
        prev = Some(cur);
    }
    Ok(())
}

fn invalid(name: &str, e: AmqError) -> AmqError {
    AmqError::InvalidTensor {
        tensor: name.to_owned(),
        source: Box::new(e),
    }
}

/// Bytes of `seg` (already checked to lie inside `payload`, whose length is a usize).
fn slice(payload: &[u8], seg: Segment) -> &[u8] {
    let start = seg.offset as usize;
    &payload[start..start + seg.len as usize]
}

/// Decodes one validated tensor entry.
fn build(t: TensorEntry, payload: &[u8]) -> Result<(String, PackedTensor)> {
    // Every dimension is bounded by a byte length that fits in the payload, except `n` and
    // `rows` of bit planes whose other factors may be zero; those are converted checked.
    let to_usize = |name: &str, v: u64| {
        usize::try_from(v).map_err(|_| {
            AmqError::InvalidHeader(format!("tensor {name:?}: {v} does not fit in usize"))
        })
    };
    match t {
        TensorEntry::BitPlanes {
            name,
            rows,
            n,
            bits,
            alphas,
            planes,
        } => {
            let (rows, n, bits) = (
                to_usize(&name, rows)?,
                to_usize(&name, n)?,
                to_usize(&name, bits)?,
            );
            let alphas = read_f32s(slice(payload, alphas));
            let planes = read_u64s(slice(payload, planes));
            let p = BitPlanes::from_parts(rows, n, bits, alphas, planes)
                .map_err(|e| invalid(&name, e))?;
            Ok((name, PackedTensor::BitPlanes(p)))
        }
        TensorEntry::F32 { name, shape, data } => {
            let shape = shape
                .into_iter()
                .map(|d| to_usize(&name, d))
                .collect::<Result<Vec<_>>>()?;
            let data = read_f32s(slice(payload, data));
            check_finite("f32 tensor data", &data).map_err(|e| invalid(&name, e))?;
            Ok((name, PackedTensor::F32 { shape, data }))
        }
    }
}
