//! The in-memory API of `PackedFile`: pushing, looking up and taking tensors.

mod format_common;

use burn_amq_kernels::format::{PackedFile, PackedTensor};
use burn_amq_kernels::{AmqError, BitPlanes};
use format_common::{random_planes, rng, small_file};

#[test]
fn duplicate_names_are_rejected_on_push() {
    let mut f = small_file();
    let before = f.clone();
    let t = PackedTensor::F32 {
        shape: vec![1],
        data: vec![1.0],
    };
    assert_eq!(
        f.push("w1", t.clone()).unwrap_err(),
        AmqError::DuplicateTensor("w1".into())
    );
    assert_eq!(f, before);
    f.push("w3", t).unwrap();
    assert_eq!(f.len(), before.len() + 1);
}

#[test]
fn push_rejects_what_a_reader_would_reject() {
    let mut f = PackedFile::new();
    // Non-finite α written through the mutable view (from_parts would refuse it).
    let mut p = random_planes(&mut rng(3), 2, 10, 2);
    p.as_mut().buffers_mut().0[3] = f32::INFINITY;
    let e = f.push("w", PackedTensor::BitPlanes(p)).unwrap_err();
    assert!(
        matches!(&e, AmqError::InvalidTensor { tensor, source }
            if tensor == "w" && matches!(**source, AmqError::NonFinite { index: 3, .. })),
        "{e:?}"
    );
    let e = f
        .push(
            "b",
            PackedTensor::F32 {
                shape: vec![2, 2],
                data: vec![0.0; 3],
            },
        )
        .unwrap_err();
    assert!(
        matches!(&e, AmqError::InvalidTensor { source, .. }
            if matches!(**source, AmqError::LengthMismatch { expected: 4, actual: 3, .. })),
        "{e:?}"
    );
    let e = f
        .push(
            "b",
            PackedTensor::F32 {
                shape: vec![2],
                data: vec![0.0, f32::NAN],
            },
        )
        .unwrap_err();
    assert!(
        matches!(&e, AmqError::InvalidTensor { source, .. }
            if matches!(**source, AmqError::NonFinite { index: 1, .. })),
        "{e:?}"
    );
    let e = f
        .push(
            "b",
            PackedTensor::F32 {
                shape: vec![usize::MAX, 2],
                data: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(e, AmqError::InvalidTensor { .. }), "{e:?}");
    assert!(f.is_empty());
}

#[test]
fn missing_tensors() {
    let mut f = small_file();
    assert!(f.get("nope").is_none());
    assert_eq!(
        f.take_bit_planes("nope").unwrap_err(),
        AmqError::TensorNotFound("nope".into())
    );
    assert_eq!(
        f.take_f32("nope", &[1]).unwrap_err(),
        AmqError::TensorNotFound("nope".into())
    );
    // Taking removes: a second take fails.
    f.take_bit_planes("w2").unwrap();
    assert_eq!(
        f.take_bit_planes("w2").unwrap_err(),
        AmqError::TensorNotFound("w2".into())
    );
}

#[test]
fn wrong_kind_is_a_typed_error_and_keeps_the_tensor() {
    let mut f = small_file();
    assert_eq!(
        f.take_bit_planes("b1").unwrap_err(),
        AmqError::WrongTensorKind {
            tensor: "b1".into(),
            expected: "bit_planes",
            found: "f32"
        }
    );
    assert_eq!(
        f.take_f32("w1", &[2, 65]).unwrap_err(),
        AmqError::WrongTensorKind {
            tensor: "w1".into(),
            expected: "f32",
            found: "bit_planes"
        }
    );
    assert_eq!(f, small_file());
    assert_eq!(f.get("b1").map(PackedTensor::kind), Some("f32"));
    assert_eq!(f.get("w1").map(PackedTensor::kind), Some("bit_planes"));
}

#[test]
fn wrong_shape_is_a_typed_error_and_keeps_the_tensor() {
    let mut f = small_file();
    for shape in [&[][..], &[1, 3], &[4], &[3, 1]] {
        assert_eq!(
            f.take_f32("b1", shape).unwrap_err(),
            AmqError::TensorShapeMismatch {
                tensor: "b1".into(),
                expected: shape.to_vec(),
                found: vec![3]
            }
        );
    }
    assert_eq!(f, small_file());
    assert_eq!(f.take_f32("b1", &[3]).unwrap(), vec![0.5, -1.0, 2.25]);
}

#[test]
fn metadata() {
    let mut f = PackedFile::new();
    assert_eq!(f.insert_meta("k", "1"), None);
    assert_eq!(f.insert_meta("k", "2"), Some("1".into()));
    assert_eq!(f.meta("k"), Some("2"));
    assert_eq!(f.meta("other"), None);
    assert_eq!(f.metadata().len(), 1);
}

#[test]
fn bit_planes_kept_exactly() {
    // α signs, zero α and every plane bit survive (no normalisation on write or read).
    let p = BitPlanes::from_parts(1, 65, 2, vec![-0.0, 3.5], vec![u64::MAX, 1, 0, 0]).unwrap();
    let mut f = PackedFile::new();
    f.push("p", PackedTensor::BitPlanes(p.clone())).unwrap();
    let mut g = PackedFile::from_bytes(&f.to_bytes()).unwrap();
    let q = g.take_bit_planes("p").unwrap();
    assert_eq!(q, p);
    assert!(q.alphas()[0].is_sign_negative());
}

#[test]
fn errors_display_the_tensor_name() {
    let mut f = small_file();
    let msg = f.take_f32("b1", &[4]).unwrap_err().to_string();
    assert!(msg.contains("\"b1\"") && msg.contains("[4]"), "{msg}");
}
