//! AVX-512BW kernel: one `vpshufb` zmm performs 64 lookups (16 rows × 4 groups).
//!
//! Per k-step and plane: one 64-byte load of nibble pairs, two nibble extractions, two
//! lookups (low-nibble groups `8k..8k+3`, high-nibble groups `8k+4..8k+7`), one byte add
//! (two biased entries ≤ 127 each fit a byte), then an even/odd byte split into two u16
//! accumulators (`vpandq` / `vpsrlw`) that keeps the 16 rows of each lane apart. The u16
//! accumulators take at most 254 per k-step, so they are flushed into i32 every
//! [`CHUNK`] k-steps (128 · 254 = 32 512 < 2¹⁵).

use std::arch::x86_64::*;

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// k-steps between two flushes of the u16 accumulators.
const CHUNK: usize = 128;

/// Same contract and result as [`super::portable::block_kernel`], bit for bit.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW. Panics if `tables` is shorter than
/// `128 · ksteps` or `raw` than `16 · bits`.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let ks = w.ksteps();
    let tables = &tables[..ks * 2 * UNIT_BYTES];
    let m0f = _mm512_set1_epi8(0x0f);
    let mff = _mm512_set1_epi16(0x00ff);
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        debug_assert_eq!(units.len(), ks * UNIT_BYTES);
        let mut k0 = 0;
        while k0 < ks {
            let k1 = (k0 + CHUNK).min(ks);
            let mut ev = _mm512_setzero_si512();
            let mut od = _mm512_setzero_si512();
            for k in k0..k1 {
                // SAFETY: k < ks, `units` holds ks·64 bytes and `tables` ks·128 bytes (sliced
                // above), so all three 64-byte unaligned loads are in bounds.
                let (v, tlo, thi) = unsafe {
                    (
                        _mm512_loadu_si512(units.as_ptr().add(k * UNIT_BYTES).cast()),
                        _mm512_loadu_si512(tables.as_ptr().add(k * 2 * UNIT_BYTES).cast()),
                        _mm512_loadu_si512(
                            tables.as_ptr().add(k * 2 * UNIT_BYTES + UNIT_BYTES).cast(),
                        ),
                    )
                };
                let lo = _mm512_and_si512(v, m0f);
                let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(v), m0f);
                let s = _mm512_add_epi8(_mm512_shuffle_epi8(tlo, lo), _mm512_shuffle_epi8(thi, hi));
                ev = _mm512_add_epi16(ev, _mm512_and_si512(s, mff));
                od = _mm512_add_epi16(od, _mm512_srli_epi16::<8>(s));
            }
            flush(ev, od, acc);
            k0 = k1;
        }
    }
}

/// Adds the 4 lanes of the even-row and odd-row u16 accumulators into `acc[16]` (i32).
#[target_feature(enable = "avx512f,avx512bw")]
fn flush(ev: __m512i, od: __m512i, acc: &mut [i32]) {
    // Lane sums: i32 element j of the result is row 2j (even) or 2j + 1 (odd).
    let lanes = |v: __m512i| {
        let a = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(v));
        let b = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(v));
        let s = _mm512_add_epi32(a, b);
        _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64::<1>(s))
    };
    let (e, o) = (lanes(ev), lanes(od));
    // Interleave even and odd rows back into row order 0..15.
    let lo = _mm256_unpacklo_epi32(e, o); // rows 0-3 | 8-11
    let hi = _mm256_unpackhi_epi32(e, o); // rows 4-7 | 12-15
    let r0 = _mm256_permute2x128_si256::<0x20>(lo, hi);
    let r1 = _mm256_permute2x128_si256::<0x31>(lo, hi);
    let acc: &mut [i32; 16] = (&mut acc[..16]).try_into().expect("16 rows");
    // SAFETY: `acc` is 16 i32 = two 32-byte unaligned loads and stores, in bounds.
    unsafe {
        let p = acc.as_mut_ptr().cast::<__m256i>();
        _mm256_storeu_si256(p, _mm256_add_epi32(_mm256_loadu_si256(p), r0));
        _mm256_storeu_si256(p.add(1), _mm256_add_epi32(_mm256_loadu_si256(p.add(1)), r1));
    }
}
