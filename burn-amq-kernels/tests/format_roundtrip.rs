//! Packed files read back exactly what was written.

mod format_common;

use burn_amq_kernels::format::{PREAMBLE_LEN, PackedFile, PackedTensor};
use format_common::{random_planes, rng, small_file};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// Bit-plane tensors with awkward lengths and every bit count, f32 tensors of several ranks.
fn varied_file() -> PackedFile {
    let mut r = rng(1);
    let mut f = PackedFile::new();
    f.insert_meta("model", "transformer");
    f.insert_meta("layers", "{\"d_model\": 64, \"heads\": 4}");
    f.insert_meta("", "empty key");
    f.insert_meta("unicode ключ", "значение ✓\n\"quoted\"");
    for (i, (rows, n)) in [(1, 1), (3, 63), (2, 64), (5, 65), (4, 300), (9, 128)]
        .into_iter()
        .enumerate()
    {
        for bits in 1..=8 {
            let t = PackedTensor::BitPlanes(random_planes(&mut r, rows, n, bits));
            f.push(format!("layer{i}.bits{bits}"), t).unwrap();
        }
    }
    let shapes: [&[usize]; 5] = [&[], &[1], &[7], &[3, 5], &[2, 0, 4]];
    for (i, shape) in shapes.into_iter().enumerate() {
        let count = shape.iter().product::<usize>();
        let data = (0..count).map(|k| k as f32 * 0.25 - 1.0).collect();
        let t = PackedTensor::F32 {
            shape: shape.to_vec(),
            data,
        };
        f.push(format!("f32.{i}"), t).unwrap();
    }
    f
}

#[test]
fn round_trip_through_bytes() {
    let f = varied_file();
    let bytes = f.to_bytes();
    assert_eq!(bytes.len() as u64, f.encoded_len());
    let g = PackedFile::from_bytes(&bytes).unwrap();
    assert_eq!(g, f);
    assert_eq!(g.len(), 6 * 8 + 5);
    assert_eq!(g.meta("layers"), Some("{\"d_model\": 64, \"heads\": 4}"));
    assert_eq!(g.meta("unicode ключ"), Some("значение ✓\n\"quoted\""));
    // Deterministic: re-encoding what was read gives the same bytes.
    assert_eq!(g.to_bytes(), bytes);
    // Tensor order is file order.
    let names: Vec<&str> = g.tensors().map(|(n, _)| n).collect();
    let expected: Vec<&str> = f.tensors().map(|(n, _)| n).collect();
    assert_eq!(names, expected);
}

#[test]
fn round_trip_through_a_file() {
    let f = varied_file();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("format_round_trip.amq");
    f.save(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), f.to_bytes());
    let g = PackedFile::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(g, f);
}

#[test]
fn empty_file_and_empty_metadata() {
    let f = PackedFile::new();
    let bytes = f.to_bytes();
    let g = PackedFile::from_bytes(&bytes).unwrap();
    assert!(g.is_empty() && g.metadata().is_empty());
    assert_eq!(g, f);

    // Tensors without metadata.
    let f = small_file();
    let mut no_meta = PackedFile::new();
    for (name, t) in f.tensors() {
        no_meta.push(name, t.clone()).unwrap();
    }
    let g = PackedFile::from_bytes(&no_meta.to_bytes()).unwrap();
    assert_eq!(g, no_meta);
    assert!(g.metadata().is_empty());
    assert_ne!(g, f);
}

#[test]
fn layout_is_aligned() {
    let bytes = varied_file().to_bytes();
    let parts = format_common::split(&bytes);
    let header_len = bytes.len() - PREAMBLE_LEN - parts.payload.len();
    assert_eq!(header_len % 8, 0);
    for t in parts.header["tensors"].as_array().unwrap() {
        for part in ["alphas", "planes", "data"] {
            if let Some(seg) = t.get(part) {
                assert_eq!(seg["offset"].as_u64().unwrap() % 8, 0, "{t}");
            }
        }
    }
}

#[test]
fn read_from_a_stream_consumes_exactly_one_file() {
    let a = small_file();
    let b = PackedFile::new();
    let mut stream = a.to_bytes();
    stream.extend_from_slice(&b.to_bytes());
    stream.extend_from_slice(b"tail");
    let mut cursor = std::io::Cursor::new(stream);
    assert_eq!(PackedFile::read_from(&mut cursor).unwrap(), a);
    assert_eq!(PackedFile::read_from(&mut cursor).unwrap(), b);
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut cursor, &mut rest).unwrap();
    assert_eq!(rest, b"tail");
}

#[test]
fn take_returns_the_stored_tensors() {
    let f = small_file();
    let mut g = PackedFile::from_bytes(&f.to_bytes()).unwrap();
    let Some(PackedTensor::BitPlanes(w1)) = f.get("w1") else {
        panic!("w1 missing")
    };
    assert_eq!(&g.take_bit_planes("w1").unwrap(), w1);
    assert_eq!(g.take_f32("b1", &[3]).unwrap(), vec![0.5, -1.0, 2.25]);
    assert_eq!(g.len(), 1);
    assert!(g.get("w1").is_none() && g.get("w2").is_some());
}

fn tensor() -> impl Strategy<Value = PackedTensor> {
    let planes =
        (1usize..4, 1usize..200, 1usize..=8, any::<u64>()).prop_map(|(rows, n, bits, seed)| {
            PackedTensor::BitPlanes(random_planes(&mut rng(seed), rows, n, bits))
        });
    let f32s = prop::collection::vec(0usize..4, 0..3).prop_flat_map(|shape| {
        let count = shape.iter().product::<usize>();
        prop::collection::vec(-1e30f32..1e30, count).prop_map(move |data| PackedTensor::F32 {
            shape: shape.clone(),
            data,
        })
    });
    prop_oneof![planes, f32s]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0xf11e),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_files_round_trip(
        tensors in prop::collection::vec(tensor(), 0..6),
        meta in prop::collection::btree_map(".{0,8}", ".{0,16}", 0..4),
    ) {
        let mut f = PackedFile::new();
        for (k, v) in meta {
            f.insert_meta(k, v);
        }
        for (i, t) in tensors.into_iter().enumerate() {
            f.push(format!("t{i}"), t).unwrap();
        }
        let bytes = f.to_bytes();
        prop_assert_eq!(PackedFile::from_bytes(&bytes).unwrap(), f.clone());
        prop_assert_eq!(PackedFile::read_from(&mut bytes.as_slice()).unwrap(), f);
    }
}
