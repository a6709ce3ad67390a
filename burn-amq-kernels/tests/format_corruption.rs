//! Damaged files are rejected with typed errors, never a panic or a huge allocation.

mod format_common;

use burn_amq_kernels::AmqError;
use burn_amq_kernels::format::{FORMAT_VERSION, MAGIC, PREAMBLE_LEN, PackedFile, Preamble};
use format_common::small_file;

/// Both readers (in-memory and streaming) reject `bytes` with the same error.
fn both_reject(bytes: &[u8]) -> AmqError {
    let a = PackedFile::from_bytes(bytes).unwrap_err();
    let b = PackedFile::read_from(&mut &bytes[..]).unwrap_err();
    assert_eq!(a, b);
    a
}

/// Overwrites the preamble of `bytes` with `edit` applied to it (checksum untouched).
fn with_preamble(bytes: &[u8], edit: impl FnOnce(&mut Preamble)) -> Vec<u8> {
    let mut p = Preamble::parse(bytes).unwrap();
    edit(&mut p);
    let mut out = bytes.to_vec();
    out[..PREAMBLE_LEN].copy_from_slice(&p.to_bytes());
    out
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    let bytes = small_file().to_bytes();
    assert!(bytes.len() > 200, "the file should have a real payload");
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        let e = PackedFile::from_bytes(cut).unwrap_err();
        assert!(matches!(e, AmqError::Truncated { .. }), "len {len}: {e:?}");
        let e = PackedFile::read_from(&mut &cut[..]).unwrap_err();
        assert!(
            matches!(e, AmqError::Truncated { available, .. } if available == len as u64),
            "len {len}: {e:?}"
        );
    }
    assert!(PackedFile::from_bytes(&bytes).is_ok());
}

#[test]
fn every_single_byte_flip_is_an_error() {
    let bytes = small_file().to_bytes();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            let a = PackedFile::from_bytes(&bad);
            let b = PackedFile::read_from(&mut bad.as_slice());
            assert!(
                a.is_err() && b.is_err(),
                "byte {i} ^ {mask:#x}: {a:?} / {b:?}"
            );
        }
    }
}

#[test]
fn payload_flips_are_checksum_errors() {
    let bytes = small_file().to_bytes();
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(
        both_reject(&bad),
        AmqError::ChecksumMismatch { .. }
    ));
    let mut bad = bytes.clone();
    bad[PREAMBLE_LEN + 1] ^= 1; // inside the JSON header
    assert!(matches!(
        both_reject(&bad),
        AmqError::ChecksumMismatch { .. }
    ));
}

#[test]
fn wrong_magic() {
    let mut bytes = small_file().to_bytes();
    bytes[..8].copy_from_slice(b"GGUF\0\0\0\0");
    assert_eq!(
        both_reject(&bytes),
        AmqError::BadMagic {
            found: *b"GGUF\0\0\0\0"
        }
    );
    assert_eq!(MAGIC, *b"BURNAMQ\0");
}

#[test]
fn other_versions_are_unsupported() {
    let bytes = small_file().to_bytes();
    for version in [0, 2, u32::MAX] {
        let bad = with_preamble(&bytes, |p| p.version = version);
        assert_eq!(
            both_reject(&bad),
            AmqError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION
            }
        );
    }
    // The version sits at bytes 8..12, little-endian.
    assert_eq!(&bytes[8..12], &1u32.to_le_bytes());
}

#[test]
fn unknown_flags_and_reserved_bytes() {
    let bytes = small_file().to_bytes();
    let bad = with_preamble(&bytes, |p| p.flags = 4);
    assert_eq!(both_reject(&bad), AmqError::UnsupportedFlags { flags: 4 });
    let bad = with_preamble(&bytes, |p| p.reserved[2] = 1);
    assert!(matches!(both_reject(&bad), AmqError::CorruptFile(_)));
}

#[test]
fn huge_length_fields_do_not_allocate() {
    let bytes = small_file().to_bytes();
    for (h, p) in [
        (1u64 << 60, None),
        (u64::MAX - 7, None),
        (1u64 << 60, Some(u64::MAX)),
        (0, Some(1u64 << 62)),
    ] {
        let bad = with_preamble(&bytes, |pre| {
            pre.header_len = h;
            if let Some(p) = p {
                pre.payload_len = p;
            }
        });
        // Would abort the process if a reader allocated the declared size up front.
        let e = both_reject(&bad);
        assert!(
            matches!(e, AmqError::Truncated { available, .. } if available == bytes.len() as u64),
            "{e:?}"
        );
    }
}

#[test]
fn length_fields_must_match_the_file() {
    let bytes = small_file().to_bytes();
    // Trailing bytes: an error for a whole file in memory.
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        PackedFile::from_bytes(&long),
        Err(AmqError::CorruptFile(_))
    ));
    // A header length that is not a multiple of 8.
    let bad = with_preamble(&bytes, |p| p.header_len -= 1);
    assert!(matches!(both_reject(&bad), AmqError::CorruptFile(_)));
    // Shifting bytes between header and payload breaks the checksum.
    let bad = with_preamble(&bytes, |p| {
        p.header_len -= 8;
        p.payload_len += 8;
    });
    assert!(matches!(
        both_reject(&bad),
        AmqError::ChecksumMismatch { .. }
    ));
}

#[test]
fn io_errors_are_typed() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let e = PackedFile::load(dir.join("format_no_such_file.amq")).unwrap_err();
    assert!(
        matches!(
            e,
            AmqError::Io {
                kind: std::io::ErrorKind::NotFound,
                ..
            }
        ),
        "{e:?}"
    );
    let e = small_file()
        .save(dir.join("no_such_dir").join("x.amq"))
        .unwrap_err();
    assert!(matches!(e, AmqError::Io { .. }), "{e:?}");

    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let e = PackedFile::read_from(&mut Failing).unwrap_err();
    assert_eq!(
        e,
        AmqError::Io {
            kind: std::io::ErrorKind::Other,
            message: "disk on fire".into()
        }
    );
}
