//! Serialization: layout of the payload, header, checksum, writing.

use std::io::Write;

use super::bytes::{pad8, with_le_f32s, with_le_u64s};
use super::file::PackedFile;
use super::header::{Header, Segment, TensorEntry};
use super::preamble::{PREAMBLE_LEN, Preamble};
use super::tensor::PackedTensor;
use crate::error::Result;

const ZEROS: [u8; 8] = [0; 8];

/// Assigns consecutive 8-byte-aligned segments.
struct Layout {
    next: u64,
}

impl Layout {
    fn segment(&mut self, len: usize) -> Segment {
        let s = Segment {
            offset: self.next,
            len: len as u64,
        };
        self.next += s.len + pad8(s.len);
        s
    }
}

impl PackedFile {
    /// The header (with padding) and payload length this file serializes to.
    fn plan(&self) -> (Vec<u8>, u64) {
        let mut layout = Layout { next: 0 };
        let tensors = self
            .tensors
            .iter()
            .map(|(name, t)| match t {
                PackedTensor::BitPlanes(p) => TensorEntry::BitPlanes {
                    name: name.clone(),
                    rows: p.rows() as u64,
                    n: p.n() as u64,
                    bits: p.bits() as u64,
                    alphas: layout.segment(p.alphas().len() * 4),
                    planes: layout.segment(p.planes().len() * 8),
                },
                PackedTensor::F32 { shape, data } => TensorEntry::F32 {
                    name: name.clone(),
                    shape: shape.iter().map(|&d| d as u64).collect(),
                    data: layout.segment(data.len() * 4),
                },
            })
            .collect();
        let header = Header {
            metadata: self.metadata.clone(),
            tensors,
        };
        // Serializing string maps, strings and integers cannot fail.
        let mut json = serde_json::to_vec(&header).unwrap_or_default();
        json.resize(json.len() + pad8(json.len() as u64) as usize, b' ');
        (json, layout.next)
    }

    /// Feeds the payload bytes, in order, to `sink` (tensor parts, each followed by zero
    /// padding to a multiple of 8).
    fn emit_payload(&self, sink: &mut impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let mut part = |bytes: &[u8]| -> Result<()> {
            sink(bytes)?;
            sink(&ZEROS[..pad8(bytes.len() as u64) as usize])
        };
        for (_, t) in &self.tensors {
            match t {
                PackedTensor::BitPlanes(p) => {
                    with_le_f32s(p.alphas(), &mut part)?;
                    with_le_u64s(p.planes(), &mut part)?;
                }
                PackedTensor::F32 { data, .. } => with_le_f32s(data, &mut part)?,
            }
        }
        Ok(())
    }

    /// Writes the file to `w`: one pass over the tensors to compute the checksum, one to write.
    pub fn write_to(&self, w: &mut impl Write) -> Result<()> {
        let (header, payload_len) = self.plan();
        let mut preamble = Preamble::new(header.len() as u64, payload_len, 0);
        let mut crc = preamble.hasher();
        crc.update(&header);
        self.emit_payload(&mut |b| {
            crc.update(b);
            Ok(())
        })?;
        preamble.checksum = crc.finalize();
        w.write_all(&preamble.to_bytes())?;
        w.write_all(&header)?;
        self.emit_payload(&mut |b| Ok(w.write_all(b)?))
    }

    /// The file as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_to(&mut out);
        out
    }

    /// Length in bytes of [`Self::to_bytes`], without serializing the payload.
    pub fn encoded_len(&self) -> u64 {
        let (header, payload_len) = self.plan();
        PREAMBLE_LEN as u64 + header.len() as u64 + payload_len
    }
}
