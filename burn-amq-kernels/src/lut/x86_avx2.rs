//! AVX2 kernel: `vpshufb` on ymm, 32 lookups (16 rows × 2 groups) per shuffle.
//!
//! Each 64-byte unit is read as two 32-byte halves (lanes 0–1 and 2–3). Both halves hold the
//! same 16 rows, so they feed the same even/odd u16 accumulators (two sets, for two
//! independent dependency chains, summed at the flush). Each set takes at most 254 per
//! k-step: flushing every [`CHUNK`] = 128 k-steps keeps the u16 sum of both sets below 2¹⁶.

use std::arch::x86_64::*;

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// k-steps between two flushes of the u16 accumulators.
const CHUNK: usize = 128;

/// Same contract and result as [`super::portable::block_kernel`], bit for bit.
///
/// # Safety
/// The CPU must support AVX2. Panics if `tables` is shorter than `128 · ksteps` or `raw` than
/// `16 · bits`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let ks = w.ksteps();
    let tables = &tables[..ks * 2 * UNIT_BYTES];
    let m0f = _mm256_set1_epi8(0x0f);
    let mff = _mm256_set1_epi16(0x00ff);
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        debug_assert_eq!(units.len(), ks * UNIT_BYTES);
        let mut k0 = 0;
        while k0 < ks {
            let k1 = (k0 + CHUNK).min(ks);
            let z = _mm256_setzero_si256();
            let (mut ev_a, mut od_a, mut ev_b, mut od_b) = (z, z, z, z);
            for k in k0..k1 {
                // SAFETY: k < ks, `units` holds ks·64 bytes and `tables` ks·128 bytes (sliced
                // above): the six 32-byte unaligned loads are in bounds.
                let (va, vb, tlo_a, tlo_b, thi_a, thi_b) = unsafe {
                    let u = units.as_ptr().add(k * UNIT_BYTES);
                    let t = tables.as_ptr().add(k * 2 * UNIT_BYTES);
                    (
                        _mm256_loadu_si256(u.cast()),
                        _mm256_loadu_si256(u.add(32).cast()),
                        _mm256_loadu_si256(t.cast()),
                        _mm256_loadu_si256(t.add(32).cast()),
                        _mm256_loadu_si256(t.add(64).cast()),
                        _mm256_loadu_si256(t.add(96).cast()),
                    )
                };
                let look = |v: __m256i, tlo: __m256i, thi: __m256i| {
                    let lo = _mm256_and_si256(v, m0f);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), m0f);
                    _mm256_add_epi8(_mm256_shuffle_epi8(tlo, lo), _mm256_shuffle_epi8(thi, hi))
                };
                let sa = look(va, tlo_a, thi_a);
                let sb = look(vb, tlo_b, thi_b);
                ev_a = _mm256_add_epi16(ev_a, _mm256_and_si256(sa, mff));
                od_a = _mm256_add_epi16(od_a, _mm256_srli_epi16::<8>(sa));
                ev_b = _mm256_add_epi16(ev_b, _mm256_and_si256(sb, mff));
                od_b = _mm256_add_epi16(od_b, _mm256_srli_epi16::<8>(sb));
            }
            flush(
                _mm256_add_epi16(ev_a, ev_b),
                _mm256_add_epi16(od_a, od_b),
                acc,
            );
            k0 = k1;
        }
    }
}

/// Adds the 2 lanes of the even-row and odd-row u16 accumulators into `acc[16]` (i32).
#[target_feature(enable = "avx2")]
fn flush(ev: __m256i, od: __m256i, acc: &mut [i32]) {
    // i32 element j of the lane sum is row 2j (even) or 2j + 1 (odd).
    let lanes = |v: __m256i| {
        _mm256_add_epi32(
            _mm256_cvtepu16_epi32(_mm256_castsi256_si128(v)),
            _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(v)),
        )
    };
    let (e, o) = (lanes(ev), lanes(od));
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
