//! AVX2 kernel: `vpshufb` on ymm, 32 lookups (32 rows × 1 group) per shuffle.
//!
//! Each 64-byte unit (64 rows, see [`super::layout`]) is read as two 32-byte halves, rows
//! 0–31 and 32–63, each with its own pair of u16 accumulators. The widening is the AVX-512
//! tier's: `all += s`, `odd += s >> 8`, even rows = `all − (odd << 8)` at the flush, every
//! [`CHUNK`] = 256 units (each accumulator gains ≤ 254 per unit: 65 024 < 2¹⁶).

use std::arch::x86_64::*;

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// Units between two flushes of the u16 accumulators.
const CHUNK: usize = 256;

/// Same contract and result as [`super::portable::block_kernel`], bit for bit.
///
/// # Safety
/// The CPU must support AVX2. Panics if `tables` is shorter than `32 · units` or `raw` than
/// `64 · bits`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let nu = w.units();
    let tables = &tables[..nu * 32];
    let m0f = _mm256_set1_epi8(0x0f);
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        debug_assert_eq!(units.len(), nu * UNIT_BYTES);
        let mut u0 = 0;
        while u0 < nu {
            let u1 = (u0 + CHUNK).min(nu);
            let z = _mm256_setzero_si256();
            let (mut all_a, mut odd_a, mut all_b, mut odd_b) = (z, z, z, z);
            for u in u0..u1 {
                // SAFETY: u < nu, `units` holds nu·64 bytes and `tables` nu·32 bytes (sliced
                // above): both 32-byte and both 16-byte unaligned loads are in bounds.
                let (va, vb, tlo, thi) = unsafe {
                    let p = units.as_ptr().add(u * UNIT_BYTES);
                    let t = tables.as_ptr().add(u * 32);
                    (
                        _mm256_loadu_si256(p.cast()),
                        _mm256_loadu_si256(p.add(32).cast()),
                        _mm256_broadcastsi128_si256(_mm_loadu_si128(t.cast())),
                        _mm256_broadcastsi128_si256(_mm_loadu_si128(t.add(16).cast())),
                    )
                };
                let look = |v: __m256i| {
                    let lo = _mm256_and_si256(v, m0f);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), m0f);
                    _mm256_add_epi8(_mm256_shuffle_epi8(tlo, lo), _mm256_shuffle_epi8(thi, hi))
                };
                let sa = look(va);
                let sb = look(vb);
                all_a = _mm256_add_epi16(all_a, sa);
                odd_a = _mm256_add_epi16(odd_a, _mm256_srli_epi16::<8>(sa));
                all_b = _mm256_add_epi16(all_b, sb);
                odd_b = _mm256_add_epi16(odd_b, _mm256_srli_epi16::<8>(sb));
            }
            let (first, second) = acc.split_at_mut(32);
            flush(all_a, odd_a, first);
            flush(all_b, odd_b, second);
            u0 = u1;
        }
    }
}

/// Splits one half's accumulators into even/odd-row u16 sums and adds them into `acc[32]`.
#[target_feature(enable = "avx2")]
fn flush(all: __m256i, odd: __m256i, acc: &mut [i32]) {
    let even = _mm256_sub_epi16(all, _mm256_slli_epi16::<8>(odd));
    // Per 128-bit lane L: unpacklo = rows 16L..16L+7, unpackhi = rows 16L+8..16L+15.
    let lo = _mm256_unpacklo_epi16(even, odd);
    let hi = _mm256_unpackhi_epi16(even, odd);
    let mut l = [0u16; 16];
    let mut h = [0u16; 16];
    // SAFETY: `l` and `h` are 32 bytes each: one unaligned 32-byte store each.
    unsafe {
        _mm256_storeu_si256(l.as_mut_ptr().cast(), lo);
        _mm256_storeu_si256(h.as_mut_ptr().cast(), hi);
    }
    let acc: &mut [i32; 32] = (&mut acc[..32]).try_into().expect("32 rows");
    for lane in 0..2 {
        for t in 0..8 {
            acc[16 * lane + t] += l[8 * lane + t] as i32;
            acc[16 * lane + 8 + t] += h[8 * lane + t] as i32;
        }
    }
}
