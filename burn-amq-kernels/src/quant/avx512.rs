//! AVX-512 versions of the [`portable`](super::portable) kernels: same arithmetic in the same
//! order (16 lanes, f64 partial sums, the same reduction tree), so results are bit-identical.
//!
//! Every function here is only called through [`Kern::Avx512`](super::kernel::Kern), which
//! exists only after [`Tier::Avx512`](crate::tier::Tier) was found available at run time.

use std::arch::x86_64::*;

use super::bst::CodeTable;
use super::portable::{LANES, reduce};

/// Mask of the valid lanes of a 16-lane chunk with `rem` elements left.
#[inline(always)]
fn lane_mask(rem: usize) -> __mmask16 {
    if rem >= 16 {
        0xFFFF
    } else {
        ((1u32 << rem) - 1) as __mmask16
    }
}

/// The 16 plane bits of the chunk starting at element `base` (a multiple of 16).
#[inline(always)]
fn chunk_bits(plane: &[u64], base: usize) -> __mmask16 {
    (plane[base / 64] >> (base % 64)) as __mmask16
}

/// Loads the valid lanes of the chunk of `x` at `base` (the others read as 0).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn load(x: &[f32], base: usize) -> (__m512, __mmask16) {
    debug_assert!(base < x.len());
    let m = lane_mask(x.len() - base);
    // SAFETY: `base < x.len()`, and the mask enables exactly the lanes `base..x.len()` that
    // lie inside `x`; masked-off lanes are not accessed (no fault, read as zero).
    let v = unsafe { _mm512_maskz_loadu_ps(m, x.as_ptr().add(base)) };
    (v, m)
}

/// Stores the valid lanes of `v` to the chunk of `x` at `base`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn store(x: &mut [f32], base: usize, m: __mmask16, v: __m512) {
    debug_assert!(base < x.len() && m == lane_mask(x.len() - base));
    // SAFETY: as in `load`: the mask only enables lanes inside `x`.
    unsafe { _mm512_mask_storeu_ps(x.as_mut_ptr().add(base), m, v) }
}

/// Adds the 16 f32 lanes of `v` to the f64 accumulators (lanes 0..8 in `lo`, 8..16 in `hi`).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn accumulate(lo: &mut __m512d, hi: &mut __m512d, v: __m512) {
    let low = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    let high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
        _mm512_castps_pd(v),
    )));
    *lo = _mm512_add_pd(*lo, low);
    *hi = _mm512_add_pd(*hi, high);
}

/// The portable reduction of the 16 accumulators.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn finish(lo: __m512d, hi: __m512d) -> f64 {
    let mut acc = [0.0f64; LANES];
    // SAFETY: `acc` holds 16 f64: two unaligned 8-lane stores at offsets 0 and 8 fit.
    unsafe {
        _mm512_storeu_pd(acc.as_mut_ptr(), lo);
        _mm512_storeu_pd(acc.as_mut_ptr().add(8), hi);
    }
    reduce(&acc)
}

/// Negates lanes exactly like scalar `-v` (sign-bit flip, so `-0.0` stays distinct).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn neg(v: __m512) -> __m512 {
    _mm512_castsi512_ps(_mm512_xor_si512(
        _mm512_castps_si512(v),
        _mm512_set1_epi32(i32::MIN),
    ))
}

/// See [`portable::sign_abs_sum`](super::portable::sign_abs_sum).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) fn sign_abs_sum(r: &[f32], plane: &mut [u64]) -> f64 {
    plane.fill(0);
    let zero = _mm512_setzero_ps();
    let (mut lo, mut hi) = (_mm512_setzero_pd(), _mm512_setzero_pd());
    for base in (0..r.len()).step_by(16) {
        let (v, m) = load(r, base);
        let ge = _mm512_mask_cmp_ps_mask::<_CMP_GE_OQ>(m, v, zero);
        plane[base / 64] |= u64::from(ge) << (base % 64);
        accumulate(&mut lo, &mut hi, _mm512_abs_ps(v));
    }
    finish(lo, hi)
}

/// See [`portable::sub_plane`](super::portable::sub_plane).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) fn sub_plane(r: &mut [f32], plane: &[u64], a: f32) {
    let av = _mm512_set1_ps(a);
    for base in (0..r.len()).step_by(16) {
        let (v, m) = load(r, base);
        // Bit set (+1): v − a; clear (−1): v + a, which is what `v - (-a)` computes.
        let out = _mm512_mask_blend_ps(
            chunk_bits(plane, base),
            _mm512_add_ps(v, av),
            _mm512_sub_ps(v, av),
        );
        store(r, base, m, out);
    }
}

/// See [`portable::plane_dots`](super::portable::plane_dots).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) fn plane_dots(w: &[f32], planes: &[u64], words: usize, out: &mut [f64]) {
    let k = out.len();
    let mut lo = [_mm512_setzero_pd(); crate::MAX_BITS];
    let mut hi = [_mm512_setzero_pd(); crate::MAX_BITS];
    for base in (0..w.len()).step_by(16) {
        let (v, _) = load(w, base);
        let nv = neg(v);
        for i in 0..k {
            let bits = chunk_bits(&planes[i * words..(i + 1) * words], base);
            // Masked-off tail lanes are 0 and add nothing.
            accumulate(&mut lo[i], &mut hi[i], _mm512_mask_blend_ps(bits, nv, v));
        }
    }
    for i in 0..k {
        out[i] = finish(lo[i], hi[i]);
    }
}

/// See [`portable::residual`](super::portable::residual).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) fn residual(w: &[f32], planes: &[u64], words: usize, alphas: &[f32], r: &mut [f32]) {
    for base in (0..w.len()).step_by(16) {
        let (mut v, m) = load(w, base);
        for (i, &a) in alphas.iter().enumerate() {
            let av = _mm512_set1_ps(a);
            let bits = chunk_bits(&planes[i * words..(i + 1) * words], base);
            v = _mm512_mask_blend_ps(bits, _mm512_add_ps(v, av), _mm512_sub_ps(v, av));
        }
        store(r, base, m, v);
    }
}

/// See [`portable::bst_assign`](super::portable::bst_assign): the tree descent runs on 16
/// entries at once, one vector comparison per level; the midpoint of each lane's current
/// node and the final bit pattern are looked up with in-register permutes (k ≤ 4, tables
/// of ≤ 16 entries) or gathers (k ≥ 5).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) fn bst_assign(w: &[f32], table: &CodeTable, planes: &mut [u64], words: usize) {
    let k = table.bits;
    planes[..k * words].fill(0);
    let top = 1usize << (k - 1);
    // Level 0 is the same node for every lane: a broadcast.
    let root = _mm512_set1_ps(table.mids[top - 1]);
    let small = k <= 4;
    // SAFETY: `mids` and `patterns` hold MAX_CODES = 256 ≥ 16 elements, so 16-lane unaligned
    // loads from their starts are in bounds.
    let (mids16, pats16) = unsafe {
        (
            _mm512_loadu_ps(table.mids.as_ptr()),
            _mm512_loadu_si512(table.patterns.as_ptr().cast()),
        )
    };
    for base in (0..w.len()).step_by(16) {
        let (x, m) = load(w, base);
        let ge = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, root);
        let mut idx = _mm512_maskz_mov_epi32(ge, _mm512_set1_epi32(top as i32));
        let mut half = top >> 1;
        while half > 0 {
            let node = _mm512_add_epi32(idx, _mm512_set1_epi32(half as i32 - 1));
            let mid = if small {
                _mm512_permutexvar_ps(node, mids16)
            } else {
                // SAFETY: every lane of `node` is < 2^k − 1 ≤ 255 (idx < 2^k − 2·half and
                // half ≥ 1), inside the 256-entry `mids` array; scale 4 = size of f32.
                unsafe { _mm512_i32gather_ps::<4>(node, table.mids.as_ptr()) }
            };
            let ge = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, mid);
            idx = _mm512_mask_add_epi32(idx, ge, idx, _mm512_set1_epi32(half as i32));
            half >>= 1;
        }
        let pat = if small {
            _mm512_permutexvar_epi32(idx, pats16)
        } else {
            // SAFETY: every lane of `idx` is < 2^k ≤ 256, inside the 256-entry `patterns`
            // array; scale 4 = size of u32.
            unsafe { _mm512_i32gather_epi32::<4>(idx, table.patterns.as_ptr().cast()) }
        };
        for i in 0..k {
            let b = _mm512_mask_test_epi32_mask(m, pat, _mm512_set1_epi32(1 << i));
            planes[i * words + base / 64] |= u64::from(b) << (base % 64);
        }
    }
}
