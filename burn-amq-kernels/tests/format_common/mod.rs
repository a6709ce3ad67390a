//! Shared helpers for the packed file tests (`mod format_common;` in each test file).
#![allow(dead_code)]

use burn_amq_kernels::BitPlanes;
use burn_amq_kernels::format::{PREAMBLE_LEN, PackedFile, PackedTensor, Preamble};
use burn_amq_kernels::pack::words_for;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A seeded generator (tests must be reproducible).
pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

/// Random planes with zero padding and finite α.
pub fn random_planes(rng: &mut SmallRng, rows: usize, n: usize, bits: usize) -> BitPlanes {
    let words = words_for(n);
    let mask = match n % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    };
    let mut planes: Vec<u64> = (0..rows * bits * words).map(|_| rng.random()).collect();
    for plane in planes.chunks_exact_mut(words) {
        plane[words - 1] &= mask;
    }
    let alphas = (0..rows * bits)
        .map(|_| rng.random_range(-4.0f32..4.0))
        .collect();
    BitPlanes::from_parts(rows, n, bits, alphas, planes).unwrap()
}

/// A small file: two bit-plane tensors, one f32 tensor, two metadata entries.
pub fn small_file() -> PackedFile {
    let mut r = rng(7);
    let mut f = PackedFile::new();
    f.insert_meta("model", "mlp");
    f.insert_meta("vocab", "17");
    f.push(
        "w1",
        PackedTensor::BitPlanes(random_planes(&mut r, 2, 65, 2)),
    )
    .unwrap();
    f.push(
        "w2",
        PackedTensor::BitPlanes(random_planes(&mut r, 1, 3, 1)),
    )
    .unwrap();
    f.push(
        "b1",
        PackedTensor::F32 {
            shape: vec![3],
            data: vec![0.5, -1.0, 2.25],
        },
    )
    .unwrap();
    f
}

/// A file split into its parsed JSON header and its payload.
pub struct Parts {
    /// The JSON header.
    pub header: serde_json::Value,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// Splits a valid file (panics on an invalid one: tests only split files they wrote).
pub fn split(bytes: &[u8]) -> Parts {
    let p = Preamble::parse(bytes).unwrap();
    let h_end = PREAMBLE_LEN + p.header_len as usize;
    Parts {
        header: serde_json::from_slice(&bytes[PREAMBLE_LEN..h_end]).unwrap(),
        payload: bytes[h_end..].to_vec(),
    }
}

/// Reassembles a file from raw header bytes and a payload, padding the header to a multiple
/// of 8 and recomputing lengths and checksum (so only the tampered content is wrong).
pub fn rebuild_raw(header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut json = header.to_vec();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let pre = Preamble::for_parts(&json, payload);
    let mut out = pre.to_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(payload);
    out
}

/// [`rebuild_raw`] from parsed parts.
pub fn rebuild(parts: &Parts) -> Vec<u8> {
    rebuild_raw(&serde_json::to_vec(&parts.header).unwrap(), &parts.payload)
}

/// Applies `edit` to the parts of the small file and reassembles it.
pub fn tampered(edit: impl FnOnce(&mut Parts)) -> Vec<u8> {
    let mut parts = split(&small_file().to_bytes());
    edit(&mut parts);
    rebuild(&parts)
}
