//! AVX-512 kernels (64 rows × 2 groups per 64-byte unit, see [`super::layout`]).
//!
//! Per unit and plane: one 64-byte load of nibble pairs, two lookups (128 biased table
//! entries, bytes `1..=255`), each widened into two u16 accumulators by the same 2-op trick:
//! `all += s` (as u16 lanes: even row + 256 · odd row) and `odd += s >> 8`; the even-row sums
//! are recovered at the flush as `all − (odd << 8)` (mod 2¹⁶, exact while they stay below
//! 2¹⁶). Each accumulator gains at most 2 · 255 = 510 per unit, so they are flushed into i32
//! every [`CHUNK`] = 128 units (128 · 510 = 65 280 < 2¹⁶).
//!
//! - With AVX-512 VBMI, the lookups are `vpermb` on a table broadcast to all four lanes: it
//!   reads 6 index bits, so neither nibble needs masking (1 shift + 2 lookups + 6 = 9 vector
//!   ops per 128 lookups).
//! - Without it (AVX-512BW only), `vpshufb` needs the nibbles masked to 4 bits and bit 7
//!   clear (11 ops).
//!
//! Each 16-byte table is broadcast to the four lanes by the load (`vbroadcasti32x4`); storing
//! tables 4× repeated, to use plain loads instead, measured no faster.

use std::arch::x86_64::*;

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// Units between two flushes of the u16 accumulators.
const CHUNK: usize = 128;

/// Whether this CPU has AVX-512 VBMI (`vpermb`); checked once by the dispatcher.
pub(crate) fn has_vbmi() -> bool {
    std::arch::is_x86_feature_detected!("avx512vbmi")
}

/// Same contract and result as [`super::portable::block_kernel`], bit for bit (`vpermb`).
///
/// # Safety
/// The CPU must support AVX-512F, AVX-512BW and AVX-512 VBMI. Panics if `tables` is shorter
/// than `32 · units` or `raw` than `64 · bits`.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(crate) unsafe fn block_kernel_vbmi(
    w: &LutWeights,
    block: usize,
    tables: &[u8],
    raw: &mut [i32],
) {
    let nu = w.units();
    let tables = &tables[..nu * 32];
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        debug_assert_eq!(units.len(), nu * UNIT_BYTES);
        let mut u0 = 0;
        while u0 < nu {
            let u1 = (u0 + CHUNK).min(nu);
            let mut all = _mm512_setzero_si512();
            let mut odd = _mm512_setzero_si512();
            for u in u0..u1 {
                // SAFETY: u < nu, `units` holds nu·64 bytes and `tables` nu·32 bytes (sliced
                // above), so the 64-byte and both 16-byte unaligned loads are in bounds.
                let (v, tlo, thi) = unsafe {
                    let t = tables.as_ptr().add(u * 32);
                    (
                        _mm512_loadu_si512(units.as_ptr().add(u * UNIT_BYTES).cast()),
                        _mm512_broadcast_i32x4(_mm_loadu_si128(t.cast())),
                        _mm512_broadcast_i32x4(_mm_loadu_si128(t.add(16).cast())),
                    )
                };
                // vpermb reads index bits 0-5; bits 4-5 pick one of four identical copies.
                let sl = _mm512_permutexvar_epi8(v, tlo);
                let sh = _mm512_permutexvar_epi8(_mm512_srli_epi16::<4>(v), thi);
                all = _mm512_add_epi16(_mm512_add_epi16(all, sl), sh);
                odd = _mm512_add_epi16(
                    _mm512_add_epi16(odd, _mm512_srli_epi16::<8>(sl)),
                    _mm512_srli_epi16::<8>(sh),
                );
            }
            flush(all, odd, acc);
            u0 = u1;
        }
    }
}

/// Same contract and result as [`super::portable::block_kernel`], bit for bit (`vpshufb`).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW. Panics if `tables` is shorter than
/// `32 · units` or `raw` than `64 · bits`.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let nu = w.units();
    let tables = &tables[..nu * 32];
    let m0f = _mm512_set1_epi8(0x0f);
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        debug_assert_eq!(units.len(), nu * UNIT_BYTES);
        let mut u0 = 0;
        while u0 < nu {
            let u1 = (u0 + CHUNK).min(nu);
            let mut all = _mm512_setzero_si512();
            let mut odd = _mm512_setzero_si512();
            for u in u0..u1 {
                // SAFETY: as in `block_kernel_vbmi`: u < nu, all loads inside the slices.
                let (v, tlo, thi) = unsafe {
                    let t = tables.as_ptr().add(u * 32);
                    (
                        _mm512_loadu_si512(units.as_ptr().add(u * UNIT_BYTES).cast()),
                        _mm512_broadcast_i32x4(_mm_loadu_si128(t.cast())),
                        _mm512_broadcast_i32x4(_mm_loadu_si128(t.add(16).cast())),
                    )
                };
                let lo = _mm512_and_si512(v, m0f);
                let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(v), m0f);
                let sl = _mm512_shuffle_epi8(tlo, lo);
                let sh = _mm512_shuffle_epi8(thi, hi);
                all = _mm512_add_epi16(_mm512_add_epi16(all, sl), sh);
                odd = _mm512_add_epi16(
                    _mm512_add_epi16(odd, _mm512_srli_epi16::<8>(sl)),
                    _mm512_srli_epi16::<8>(sh),
                );
            }
            flush(all, odd, acc);
            u0 = u1;
        }
    }
}

/// Splits the accumulators into even- and odd-row u16 sums and adds them into `acc[64]`.
#[target_feature(enable = "avx512f,avx512bw")]
fn flush(all: __m512i, odd: __m512i, acc: &mut [i32]) {
    let even = _mm512_sub_epi16(all, _mm512_slli_epi16::<8>(odd));
    // Within each 128-bit lane L, unpack{lo,hi} interleave even/odd back into rows
    // 16L..16L+7 and 16L+8..16L+15.
    let lo = _mm512_unpacklo_epi16(even, odd);
    let hi = _mm512_unpackhi_epi16(even, odd);
    let mut l = [0u16; 32];
    let mut h = [0u16; 32];
    // SAFETY: `l` and `h` are 64 bytes each: one unaligned 64-byte store each.
    unsafe {
        _mm512_storeu_si512(l.as_mut_ptr().cast(), lo);
        _mm512_storeu_si512(h.as_mut_ptr().cast(), hi);
    }
    let acc: &mut [i32; 64] = (&mut acc[..64]).try_into().expect("64 rows");
    for lane in 0..4 {
        for t in 0..8 {
            acc[16 * lane + t] += l[8 * lane + t] as i32;
            acc[16 * lane + 8 + t] += h[8 * lane + t] as i32;
        }
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
        out.len() >= groups * 16 && out.len().is_multiple_of(16),
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

#[cfg(test)]
mod tests {
    use super::super::{dispatch, portable, tables};
    use super::*;
    use crate::{BitPlanes, words_for};

    /// Both AVX-512 kernels (the dispatcher only ever picks one on a given CPU) against the
    /// portable one, on shapes that cross the flush and leave partial blocks.
    #[test]
    fn vpshufb_and_vpermb_kernels_match_portable() {
        let tier = crate::Tier::Avx512;
        if !tier.is_available() {
            return;
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for &(rows, n, bits) in &[(70, 2100, 2), (5, 13, 3), (64, 64, 8)] {
            let words = words_for(n);
            let mut planes: Vec<u64> = (0..rows * bits * words).map(|_| next()).collect();
            if !n.is_multiple_of(64) {
                for (i, w) in planes.iter_mut().enumerate() {
                    if i % words == words - 1 {
                        *w &= (1u64 << (n % 64)) - 1;
                    }
                }
            }
            let alphas = vec![1.0; rows * bits];
            let p = BitPlanes::from_parts(rows, n, bits, alphas, planes).unwrap();
            let w = LutWeights::from(&p);
            let x: Vec<f32> = (0..n)
                .map(|_| (next() % 2001) as f32 / 1000.0 - 1.0)
                .collect();
            let mut s = tables::LutScratch::new();
            let k = dispatch::kernels(tier).unwrap();
            tables::build_all(k.build, &x, 1, n, w.padded_groups(), &mut s).unwrap();
            for block in 0..w.blocks() {
                let mut want = [0i32; 64 * 8];
                let mut got = [1i32; 64 * 8];
                // SAFETY: the portable kernel has no requirements; the AVX-512BW one needs the
                // features `tier.is_available()` confirmed above.
                unsafe {
                    portable::block_kernel(&w, block, &s.tables, &mut want);
                    block_kernel(&w, block, &s.tables, &mut got);
                }
                assert_eq!(want[..64 * bits], got[..64 * bits], "vpshufb {rows}x{n}");
                if has_vbmi() {
                    let mut got = [2i32; 64 * 8];
                    // SAFETY: VBMI was detected just above.
                    unsafe { block_kernel_vbmi(&w, block, &s.tables, &mut got) };
                    assert_eq!(want[..64 * bits], got[..64 * bits], "vpermb {rows}x{n}");
                }
            }
        }
    }
}

/// Timing probe behind the table-precision choice (module docs of [`super`]): the inner loop of
/// the ±127 kernel against a ±63 variant that adds the two lookups in a byte before widening.
/// `cargo test --release -p burn-amq-kernels --lib precision_ab -- --ignored --nocapture`
#[cfg(test)]
mod probe {
    use super::super::{dispatch, tables};
    use super::*;
    use crate::{BitPlanes, words_for};

    /// The ±63 variant's inner loop (bytes added before widening): timing only, its sums are
    /// meaningless on ±127 tables.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and VBMI.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn narrow_vbmi(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
        let nu = w.units();
        let acc = &mut raw[..64];
        acc.fill(0);
        let units = w.plane_units(block, 0);
        let mut all = _mm512_setzero_si512();
        let mut odd = _mm512_setzero_si512();
        for u in 0..nu {
            // SAFETY: u < nu: the unit (64 bytes) and both tables (16 bytes each) are inside
            // `units` (nu·64 bytes) and `tables` (≥ nu·32 bytes, built for this `w`).
            let (v, tlo, thi) = unsafe {
                let t = tables.as_ptr().add(u * 32);
                (
                    _mm512_loadu_si512(units.as_ptr().add(u * UNIT_BYTES).cast()),
                    _mm512_broadcast_i32x4(_mm_loadu_si128(t.cast())),
                    _mm512_broadcast_i32x4(_mm_loadu_si128(t.add(16).cast())),
                )
            };
            let s = _mm512_add_epi8(
                _mm512_permutexvar_epi8(v, tlo),
                _mm512_permutexvar_epi8(_mm512_srli_epi16::<4>(v), thi),
            );
            all = _mm512_add_epi16(all, s);
            odd = _mm512_add_epi16(odd, _mm512_srli_epi16::<8>(s));
        }
        flush(all, odd, acc);
    }

    #[test]
    #[ignore = "timing probe; run in release with --ignored --nocapture"]
    fn precision_ab() {
        if !crate::Tier::Avx512.is_available() || !has_vbmi() {
            return;
        }
        for &n in &[2048usize, 8192] {
            let rows = 64;
            let words = words_for(n);
            let planes: Vec<u64> = (0..rows * words)
                .map(|i| (i as u64).wrapping_mul(0x9E3779B97F4A7C15))
                .collect();
            let p = BitPlanes::from_parts(rows, n, 1, vec![1.0; rows], planes).unwrap();
            let w = LutWeights::from(&p);
            let x: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
            let mut s = tables::LutScratch::new();
            let k = dispatch::kernels(crate::Tier::Avx512).unwrap();
            tables::build_all(k.build, &x, 1, n, w.padded_groups(), &mut s).unwrap();
            let mut raw = [0i32; 64 * 8];
            let reps = 100_000_000 / n;
            for round in 0..3 {
                for variant in 0..2 {
                    let t = std::time::Instant::now();
                    for _ in 0..reps {
                        // SAFETY: AVX-512F/BW and VBMI were detected at the top of the test.
                        unsafe {
                            if variant == 0 {
                                block_kernel_vbmi(&w, 0, &s.tables, &mut raw)
                            } else {
                                narrow_vbmi(&w, 0, &s.tables, &mut raw)
                            }
                        }
                        std::hint::black_box(&raw);
                    }
                    let dt = t.elapsed().as_secs_f64() / reps as f64;
                    println!(
                        "round {round} n {n} {}: {:.3} ns/unit",
                        ["±127", "±63"][variant],
                        dt * 1e9 / w.units() as f64
                    );
                }
            }
        }
    }
}
