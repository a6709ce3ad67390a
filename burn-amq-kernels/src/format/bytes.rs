//! Little-endian conversion between tensor data and payload bytes.
//!
//! On little-endian hosts these are plain `bytemuck` copies. Reading always copies into a
//! freshly allocated (hence aligned) `Vec`, never casts the possibly unaligned input buffer.

/// Padding needed after `len` bytes to reach a multiple of 8.
pub(crate) fn pad8(len: u64) -> u64 {
    len.wrapping_neg() % 8
}

/// Calls `sink` with the little-endian bytes of `values`.
pub(crate) fn with_le_u64s<R>(values: &[u64], sink: impl FnOnce(&[u8]) -> R) -> R {
    if cfg!(target_endian = "little") {
        sink(bytemuck::cast_slice(values))
    } else {
        let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        sink(&le)
    }
}

/// Calls `sink` with the little-endian bytes of `values`.
pub(crate) fn with_le_f32s<R>(values: &[f32], sink: impl FnOnce(&[u8]) -> R) -> R {
    if cfg!(target_endian = "little") {
        sink(bytemuck::cast_slice(values))
    } else {
        let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        sink(&le)
    }
}

/// Decodes little-endian `u64`s; `bytes.len()` must be a multiple of 8 (checked by callers).
pub(crate) fn read_u64s(bytes: &[u8]) -> Vec<u64> {
    let count = bytes.len() / 8;
    let mut out = vec![0u64; count];
    bytemuck::cast_slice_mut::<u64, u8>(&mut out).copy_from_slice(&bytes[..count * 8]);
    for v in &mut out {
        *v = u64::from_le(*v);
    }
    out
}

/// Decodes little-endian `f32`s; `bytes.len()` must be a multiple of 4 (checked by callers).
pub(crate) fn read_f32s(bytes: &[u8]) -> Vec<f32> {
    let count = bytes.len() / 4;
    let mut out = vec![0f32; count];
    bytemuck::cast_slice_mut::<f32, u8>(&mut out).copy_from_slice(&bytes[..count * 4]);
    if cfg!(target_endian = "big") {
        for v in &mut out {
            *v = f32::from_bits(u32::from_le(v.to_bits()));
        }
    }
    out
}
