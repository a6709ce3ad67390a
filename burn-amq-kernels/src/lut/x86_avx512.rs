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

/// Table builder, bit-identical to [`super::tables::build_portable`]: the same IEEE operations
/// in the same order (f64 group sums `(|x₀|+|x₁|) + (|x₂|+|x₃|)`, `zₜ = f32(xₜ·ι)` in f64,
/// `((±z₀ ± z₁) ± z₂) ± z₃` in f32, round to nearest even by the magic constant, clamp),
/// 16 entries of one group per zmm.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW. Panics if `out` is shorter than
/// `16 · ceil(x.len() / 4)` or not a multiple of 16 bytes.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn build_tables(x: &[f32], out: &mut [u8]) -> (f64, bool) {
    use super::tables::{BIAS, MAGIC, QMAX, scale_for};
    let n = x.len();
    let groups = n.div_ceil(4);
    assert!(
        out.len() >= groups * 16 && out.len() % 16 == 0,
        "table buffer"
    );
    let load16 = |j: usize| {
        let cnt = (n - j).min(16);
        let mask: __mmask16 = if cnt == 16 { !0 } else { (1u16 << cnt) - 1 };
        // SAFETY: the mask enables only lanes j..j+cnt, all < n = x.len(); masked-off lanes are
        // not accessed (AVX-512 masked loads do not fault on them).
        unsafe { _mm512_maskz_loadu_ps(mask, x.as_ptr().add(j)) }
    };
    let halves = |v: __m512| {
        let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
            _mm512_castps_pd(v),
        )));
        (lo, hi)
    };

    // Pass 1: group magnitudes in f64, their max, and a total that is finite iff x is.
    let mut vmax = _mm512_setzero_pd();
    let mut vtot = _mm512_setzero_pd();
    let mut j = 0;
    while j < n {
        let (lo, hi) = halves(load16(j));
        for v in [lo, hi] {
            let v = _mm512_abs_pd(v);
            // Every lane ends with its group's (|a|+|b|) + (|c|+|d|) (addition commutes exactly).
            let t = _mm512_add_pd(v, _mm512_permute_pd::<0x55>(v));
            let u = _mm512_add_pd(t, _mm512_permutex_pd::<0x4E>(t));
            vmax = _mm512_max_pd(vmax, u);
            vtot = _mm512_add_pd(vtot, u);
        }
        j += 16;
    }
    let total = _mm512_reduce_add_pd(vtot);
    if !total.is_finite() {
        return (0.0, false);
    }
    let (inv, s) = scale_for(_mm512_reduce_max_pd(vmax));

    // Pass 2: the entries, 16 (one group) per zmm.
    let vinv = _mm512_set1_pd(inv);
    let sign = |t: u32| {
        let idx = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        let bit = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(1 << t));
        _mm512_mask_blend_ps(bit, _mm512_set1_ps(-1.0), _mm512_set1_ps(1.0))
    };
    let signs = [sign(0), sign(1), sign(2), sign(3)];
    let magic = _mm512_set1_ps(MAGIC);
    let (qlo, qhi) = (_mm512_set1_ps(-(QMAX as f32)), _mm512_set1_ps(QMAX as f32));
    let bias = _mm512_set1_epi32(BIAS);
    let mut z = [0.0f32; 16];
    let mut g0 = 0;
    while g0 < groups {
        let (lo, hi) = halves(load16(g0 * 4));
        let zl = _mm512_cvtpd_ps(_mm512_mul_pd(lo, vinv));
        let zh = _mm512_cvtpd_ps(_mm512_mul_pd(hi, vinv));
        // SAFETY: `z` is 16 f32 = two 32-byte unaligned stores, in bounds.
        unsafe {
            _mm256_storeu_ps(z.as_mut_ptr(), zl);
            _mm256_storeu_ps(z.as_mut_ptr().add(8), zh);
        }
        for g in g0..(g0 + 4).min(groups) {
            let zg = &z[(g - g0) * 4..(g - g0) * 4 + 4];
            let term = |t: usize| _mm512_mul_ps(_mm512_set1_ps(zg[t]), signs[t]);
            let y = _mm512_add_ps(
                _mm512_add_ps(_mm512_add_ps(term(0), term(1)), term(2)),
                term(3),
            );
            let r = _mm512_sub_ps(_mm512_add_ps(y, magic), magic);
            let q = _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(r, qlo), qhi));
            let bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(q, bias));
            // SAFETY: g < groups and out.len() ≥ 16·groups (asserted): 16 bytes in bounds.
            unsafe { _mm_storeu_si128(out.as_mut_ptr().add(g * 16).cast(), bytes) };
        }
        g0 += 4;
    }
    out[groups * 16..].fill(BIAS as u8);
    (s, true)
}
