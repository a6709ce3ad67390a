//! AVX2 kernel: `vpshufb` on ymm, 32 lookups (32 rows × 1 group) per shuffle.
//!
//! Each 64-byte unit (64 rows, see [`super::layout`]) is read as two 32-byte halves, rows
//! 0–31 and 32–63, each with its own pair of u16 accumulators. The widening is the AVX-512
//! tier's: `all += s`, `odd += s >> 8` for both lookups, even rows = `all − (odd << 8)` at
//! the flush, every [`CHUNK`] = 128 units (each accumulator gains ≤ 2 · 255 per unit:
//! 65 280 < 2¹⁶).

use std::arch::x86_64::*;

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// Units between two flushes of the u16 accumulators.
const CHUNK: usize = 128;

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
                // Both lookups of one half go into that half's accumulators.
                let look = |v: __m256i, all: &mut __m256i, odd: &mut __m256i| {
                    let lo = _mm256_and_si256(v, m0f);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), m0f);
                    let sl = _mm256_shuffle_epi8(tlo, lo);
                    let sh = _mm256_shuffle_epi8(thi, hi);
                    *all = _mm256_add_epi16(_mm256_add_epi16(*all, sl), sh);
                    *odd = _mm256_add_epi16(
                        _mm256_add_epi16(*odd, _mm256_srli_epi16::<8>(sl)),
                        _mm256_srli_epi16::<8>(sh),
                    );
                };
                look(va, &mut all_a, &mut odd_a);
                look(vb, &mut all_b, &mut odd_b);
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

/// Table builder, bit-identical to [`super::tables::build_portable`] (same IEEE operations in
/// the same order; see the AVX-512 builder): one group's four f64 magnitudes per ymm in the
/// first pass, its 16 entries in two ymm of f32 in the second.
///
/// # Safety
/// The CPU must support AVX2. Panics if `out` is shorter than `16 · ceil(x.len() / 4)`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn build_tables(x: &[f32], out: &mut [u8]) -> (f64, bool) {
    use super::tables::{BIAS, MAGIC, QMAX, scale_for};
    let n = x.len();
    let groups = n.div_ceil(4);
    assert!(out.len() >= groups * 16, "table buffer");
    // One group as f64 (zeros past n).
    let group = |g: usize| {
        let j = g * 4;
        let v = if j + 4 <= n {
            // SAFETY: j + 4 ≤ n = x.len(): a 16-byte unaligned load in bounds.
            unsafe { _mm_loadu_ps(x.as_ptr().add(j)) }
        } else {
            let mut c = [0.0f32; 4];
            c[..n - j].copy_from_slice(&x[j..]);
            // SAFETY: `c` is 4 f32 = 16 bytes.
            unsafe { _mm_loadu_ps(c.as_ptr()) }
        };
        _mm256_cvtps_pd(v)
    };
    let abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
    let mut vmax = _mm256_setzero_pd();
    let mut vtot = _mm256_setzero_pd();
    for g in 0..groups {
        let v = _mm256_and_pd(group(g), abs_mask);
        // (|a|+|b|) + (|c|+|d|) in every lane (addition commutes exactly).
        let t = _mm256_add_pd(v, _mm256_permute_pd::<0b0101>(v));
        let u = _mm256_add_pd(t, _mm256_permute2f128_pd::<1>(t, t));
        vmax = _mm256_max_pd(vmax, u);
        vtot = _mm256_add_pd(vtot, u);
    }
    let mut tot = [0.0f64; 4];
    let mut mx = [0.0f64; 4];
    // SAFETY: both arrays are 4 f64 = 32 bytes.
    unsafe {
        _mm256_storeu_pd(tot.as_mut_ptr(), vtot);
        _mm256_storeu_pd(mx.as_mut_ptr(), vmax);
    }
    // Lane 0 holds the sum/max of every group (all lanes are equal).
    if !tot[0].is_finite() {
        return (0.0, false);
    }
    let (inv, s) = scale_for(mx[0]);

    let vinv = _mm256_set1_pd(inv);
    let sign = |t: u32, base: i32| {
        let idx = _mm256_setr_epi32(
            base,
            base + 1,
            base + 2,
            base + 3,
            base + 4,
            base + 5,
            base + 6,
            base + 7,
        );
        let bit = _mm256_and_si256(idx, _mm256_set1_epi32(1 << t));
        let neg = _mm256_cmpeq_epi32(bit, _mm256_setzero_si256());
        _mm256_blendv_ps(
            _mm256_set1_ps(1.0),
            _mm256_set1_ps(-1.0),
            _mm256_castsi256_ps(neg),
        )
    };
    let lo_signs = [sign(0, 0), sign(1, 0), sign(2, 0), sign(3, 0)];
    let hi_signs = [sign(0, 8), sign(1, 8), sign(2, 8), sign(3, 8)];
    let magic = _mm256_set1_ps(MAGIC);
    let (qlo, qhi) = (_mm256_set1_ps(-(QMAX as f32)), _mm256_set1_ps(QMAX as f32));
    let bias = _mm256_set1_epi32(BIAS);
    let entries = |z: &[f32; 4], signs: &[__m256; 4]| {
        let term = |t: usize| _mm256_mul_ps(_mm256_set1_ps(z[t]), signs[t]);
        let y = _mm256_add_ps(
            _mm256_add_ps(_mm256_add_ps(term(0), term(1)), term(2)),
            term(3),
        );
        let r = _mm256_sub_ps(_mm256_add_ps(y, magic), magic);
        let q = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(r, qlo), qhi));
        let q = _mm256_add_epi32(q, bias);
        // 8 × i32 → 8 × i16 (values 1..=127: no saturation).
        _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256::<1>(q))
    };
    for g in 0..groups {
        let zv = _mm256_cvtpd_ps(_mm256_mul_pd(group(g), vinv));
        let mut z = [0.0f32; 4];
        // SAFETY: `z` is 4 f32 = 16 bytes.
        unsafe { _mm_storeu_ps(z.as_mut_ptr(), zv) };
        let bytes = _mm_packus_epi16(entries(&z, &lo_signs), entries(&z, &hi_signs));
        // SAFETY: g < groups and out.len() ≥ 16·groups (asserted): 16 bytes in bounds.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().add(g * 16).cast(), bytes) };
    }
    out[groups * 16..].fill(BIAS as u8);
    (s, true)
}
