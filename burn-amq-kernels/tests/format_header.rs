//! Files whose header or payload was edited (with lengths and checksum recomputed, so only
//! the edit is wrong) are rejected with the matching typed error.

mod format_common;

use burn_amq_kernels::AmqError;
use burn_amq_kernels::format::PackedFile;
use format_common::{rebuild_raw, small_file, split, tampered};
use serde_json::json;

// Payload of the small file: w1 (rows 2, n 65, bits 2) α at 0 (16 bytes), planes at 16
// (64 bytes); w2 (rows 1, n 3, bits 1) α at 80 (4 bytes), planes at 88 (8 bytes); b1 (shape
// [3]) at 96 (12 bytes); 112 bytes in all.

fn read(bytes: &[u8]) -> Result<PackedFile, AmqError> {
    let a = PackedFile::from_bytes(bytes);
    let b = PackedFile::read_from(&mut &bytes[..]);
    // Compared through Debug: a NaN inside an error is not equal to itself.
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    a
}

#[test]
fn the_helpers_change_nothing_by_themselves() {
    let parts = split(&small_file().to_bytes());
    assert_eq!(parts.payload.len(), 112);
    assert_eq!(
        parts.header["tensors"][1]["planes"],
        json!({"offset": 88, "len": 8})
    );
    assert_eq!(read(&tampered(|_| {})).unwrap(), small_file());
}

#[test]
fn offset_out_of_range() {
    let bytes = tampered(|p| p.header["tensors"][2]["data"]["offset"] = json!(112));
    assert_eq!(
        read(&bytes).unwrap_err(),
        AmqError::SegmentOutOfRange {
            tensor: "b1.data".into(),
            offset: 112,
            len: 12,
            payload_len: 112
        }
    );
    // offset + len overflows u64.
    let bytes = tampered(|p| p.header["tensors"][2]["data"]["offset"] = json!(u64::MAX - 7));
    assert!(matches!(
        read(&bytes),
        Err(AmqError::SegmentOutOfRange { .. })
    ));
}

#[test]
fn misaligned_offset() {
    let bytes = tampered(|p| p.header["tensors"][2]["data"]["offset"] = json!(100));
    assert_eq!(
        read(&bytes).unwrap_err(),
        AmqError::SegmentMisaligned {
            tensor: "b1.data".into(),
            offset: 100
        }
    );
}

#[test]
fn overlapping_tensors() {
    let bytes = tampered(|p| p.header["tensors"][1]["alphas"]["offset"] = json!(24));
    assert_eq!(
        read(&bytes).unwrap_err(),
        AmqError::SegmentOverlap {
            first: "w1.planes".into(),
            second: "w2.alphas".into()
        }
    );
    // Two parts at the same offset.
    let bytes = tampered(|p| p.header["tensors"][2]["data"]["offset"] = json!(80));
    assert!(matches!(read(&bytes), Err(AmqError::SegmentOverlap { .. })));
}

#[test]
fn byte_length_inconsistent_with_shape() {
    let bytes = tampered(|p| p.header["tensors"][0]["n"] = json!(129));
    assert_eq!(
        read(&bytes).unwrap_err(),
        AmqError::TensorSizeMismatch {
            tensor: "w1".into(),
            part: "planes",
            expected: 96,
            actual: 64
        }
    );
    let bytes = tampered(|p| p.header["tensors"][0]["rows"] = json!(3));
    assert!(matches!(
        read(&bytes),
        Err(AmqError::TensorSizeMismatch { part: "alphas", .. })
    ));
    let bytes = tampered(|p| p.header["tensors"][2]["shape"] = json!([2, 2]));
    assert_eq!(
        read(&bytes).unwrap_err(),
        AmqError::TensorSizeMismatch {
            tensor: "b1".into(),
            part: "data",
            expected: 16,
            actual: 12
        }
    );
    let bytes = tampered(|p| p.header["tensors"][2]["data"]["len"] = json!(8));
    assert!(matches!(
        read(&bytes),
        Err(AmqError::TensorSizeMismatch { part: "data", .. })
    ));
    // A shape whose byte count overflows u64.
    let bytes = tampered(|p| p.header["tensors"][2]["shape"] = json!([1u64 << 40, 1u64 << 40]));
    assert!(matches!(read(&bytes), Err(AmqError::InvalidHeader(_))));
}

#[test]
fn invalid_bit_plane_parameters() {
    let bytes = tampered(|p| p.header["tensors"][1]["bits"] = json!(9));
    let e = read(&bytes).unwrap_err();
    assert_eq!(
        e,
        AmqError::InvalidTensor {
            tensor: "w2".into(),
            source: Box::new(AmqError::BitsOutOfRange { bits: 9 })
        }
    );
    // rows = 0 with matching (empty) parts.
    let bytes = tampered(|p| {
        let t = &mut p.header["tensors"][1];
        t["rows"] = json!(0);
        t["alphas"]["len"] = json!(0);
        t["planes"]["len"] = json!(0);
    });
    assert!(matches!(
        read(&bytes),
        Err(AmqError::InvalidTensor { source, .. }) if matches!(*source, AmqError::Empty { .. })
    ));
}

#[test]
fn non_finite_values() {
    let bytes = tampered(|p| p.payload[4..8].copy_from_slice(&f32::NAN.to_le_bytes()));
    let e = read(&bytes).unwrap_err();
    assert!(
        matches!(&e, AmqError::InvalidTensor { tensor, source }
            if tensor == "w1" && matches!(**source, AmqError::NonFinite { what: "alphas", index: 1, .. })),
        "{e:?}"
    );
    let bytes = tampered(|p| p.payload[100..104].copy_from_slice(&f32::INFINITY.to_le_bytes()));
    let e = read(&bytes).unwrap_err();
    assert!(
        matches!(&e, AmqError::InvalidTensor { tensor, source }
            if tensor == "b1" && matches!(**source, AmqError::NonFinite { index: 1, .. })),
        "{e:?}"
    );
}

#[test]
fn non_zero_padding_bits() {
    // w2 has n = 3: bit 3 of its plane word is padding.
    let bytes = tampered(|p| p.payload[88] |= 1 << 3);
    let e = read(&bytes).unwrap_err();
    assert!(
        matches!(&e, AmqError::InvalidTensor { tensor, source }
            if tensor == "w2" && matches!(**source, AmqError::InvalidArgument(_))),
        "{e:?}"
    );
    // A valid bit is fine.
    let bytes = tampered(|p| p.payload[88] ^= 1 << 2);
    assert!(read(&bytes).is_ok());
}

#[test]
fn duplicate_names_on_read() {
    let bytes = tampered(|p| p.header["tensors"][2]["name"] = json!("w1"));
    assert_eq!(
        read(&bytes).unwrap_err(),
        AmqError::DuplicateTensor("w1".into())
    );
}

#[test]
fn schema_violations() {
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<Edit> = vec![
        Box::new(|h| h["tensors"][0]["extra"] = json!(1)),
        Box::new(|h| h["extra"] = json!({})),
        Box::new(|h| h["tensors"][0]["kind"] = json!("f16")),
        Box::new(|h| {
            h["tensors"][0].as_object_mut().unwrap().remove("kind");
        }),
        Box::new(|h| {
            h["tensors"][0].as_object_mut().unwrap().remove("planes");
        }),
        Box::new(|h| {
            h.as_object_mut().unwrap().remove("metadata");
        }),
        Box::new(|h| h["tensors"][0]["rows"] = json!(-1)),
        Box::new(|h| h["tensors"][0]["rows"] = json!(1.5)),
        Box::new(|h| h["tensors"][2]["shape"] = json!("3")),
        Box::new(|h| h["metadata"]["model"] = json!(3)),
        Box::new(|h| h["tensors"] = json!({})),
        Box::new(|h| *h = json!([])),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let bytes = tampered(|p| edit(&mut p.header));
        let e = read(&bytes).unwrap_err();
        assert!(matches!(e, AmqError::InvalidHeader(_)), "edit {i}: {e:?}");
    }
}

#[test]
fn invalid_json_bytes() {
    let parts = split(&small_file().to_bytes());
    let good = serde_json::to_string(&parts.header).unwrap();
    let dup_meta = good.replacen("\"model\":\"mlp\"", "\"model\":\"mlp\",\"model\":\"x\"", 1);
    assert_ne!(dup_meta, good);
    let dup_field = good.replacen("\"n\":65", "\"n\":65,\"n\":65", 1);
    assert_ne!(dup_field, good);
    let cases: [&[u8]; 6] = [
        b"",
        b"{not json",
        b"{\"metadata\":{},\"tensors\":[]} trailing",
        b"{\"metadata\":{\"\xff\":\"x\"},\"tensors\":[]}",
        dup_meta.as_bytes(),
        dup_field.as_bytes(),
    ];
    for (i, header) in cases.into_iter().enumerate() {
        let bytes = rebuild_raw(header, &parts.payload);
        let e = read(&bytes).unwrap_err();
        assert!(matches!(e, AmqError::InvalidHeader(_)), "case {i}: {e:?}");
    }
    // Sanity: the same helper with the untouched JSON reads fine.
    assert!(read(&rebuild_raw(good.as_bytes(), &parts.payload)).is_ok());
}
