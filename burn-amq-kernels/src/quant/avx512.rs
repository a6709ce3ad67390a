//! AVX-512 versions of the [`portable`](super::portable) kernels: the same arithmetic in the
//! same order (32 lanes, f32 blocks into f64 totals, the same reduction tree), so results are
//! bit-identical.
//!
//! Each loop step handles 32 entries as two 16-lane halves: plane bits come straight out of
//! compare masks (16 code bits per compare), signed sums are masked blends of `x` and `−x`
//! widened to f64, and the tree descent is one vector compare per level.
//!
//! Every function here is only called through [`Kern::Avx512`](super::kernel::Kern), which
//! exists only after [`Tier::Avx512`](crate::tier::Tier) was found available at run time.

use std::arch::x86_64::*;

use super::bst::CodeTable;
use super::portable::{BLOCK, LANES, reduce};
use crate::MAX_BITS;

/// Blocked lane sums as in the portable kernels: two f32 registers of partial sums, four f64
/// registers of totals.
#[derive(Clone, Copy)]
struct Sum {
    part: [__m512; 2],
    total: [__m512d; 4],
}

impl Sum {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    fn new() -> Self {
        Self {
            part: [_mm512_setzero_ps(); 2],
            total: [_mm512_setzero_pd(); 4],
        }
    }

    /// Adds 16 lanes to half `h` (lanes `16h..16h+16`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    fn add(&mut self, h: usize, v: __m512) {
        self.part[h] = _mm512_add_ps(self.part[h], v);
    }

    /// Ends a block: widens the f32 partial sums into the f64 totals.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    fn flush(&mut self) {
        for h in 0..2 {
            let v = self.part[h];
            let low = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
            let high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                _mm512_castps_pd(v),
            )));
            self.total[2 * h] = _mm512_add_pd(self.total[2 * h], low);
            self.total[2 * h + 1] = _mm512_add_pd(self.total[2 * h + 1], high);
            self.part[h] = _mm512_setzero_ps();
        }
    }

    /// Flushes and reduces with the portable tree.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    fn finish(mut self) -> f64 {
        self.flush();
        let mut out = [0.0f64; LANES];
        for (i, &t) in self.total.iter().enumerate() {
            // SAFETY: `out` holds 32 f64; the 8-lane unaligned store at `8·i ≤ 24` fits.
            unsafe { _mm512_storeu_pd(out.as_mut_ptr().add(8 * i), t) };
        }
        reduce(&out)
    }
}

/// Mask of the valid lanes of a 16-lane chunk with `rem` elements left (0 when none).
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

/// Loads the valid lanes of the 16-entry chunk of `x` at `base`; lanes past the end (all of
/// them when `base >= x.len()`) read as 0 and get a clear mask bit.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn load(x: &[f32], base: usize) -> (__m512, __mmask16) {
    if base >= x.len() {
        return (_mm512_setzero_ps(), 0);
    }
    let m = lane_mask(x.len() - base);
    // SAFETY: `base < x.len()`, and the mask enables exactly the lanes `base..x.len()` that
    // lie inside `x`; masked-off lanes are not accessed (no fault, read as zero).
    let v = unsafe { _mm512_maskz_loadu_ps(m, x.as_ptr().add(base)) };
    (v, m)
}

/// `x` where `pos` is set, `−x` (sign-bit flip, as scalar negation) elsewhere.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn signed(pos: __mmask16, x: __m512) -> __m512 {
    let neg = _mm512_castsi512_ps(_mm512_xor_si512(
        _mm512_castps_si512(x),
        _mm512_set1_epi32(i32::MIN),
    ));
    _mm512_mask_blend_ps(pos, neg, x)
}

/// See [`portable::greedy_pass`](super::portable::greedy_pass).
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) fn greedy_pass(
    w: &[f32],
    planes: &[u64],
    words: usize,
    prior: &[f32],
    out: &mut [u64],
) -> (f64, f64) {
    out.fill(0);
    let zero = _mm512_setzero_ps();
    let mut abs = Sum::new();
    let mut dot = Sum::new();
    let mut av = [zero; MAX_BITS];
    for (v, &a) in av.iter_mut().zip(prior) {
        *v = _mm512_set1_ps(a);
    }
    for step in (0..w.len()).step_by(LANES) {
        for h in 0..2 {
            let base = step + 16 * h;
            let (x, m) = load(w, base);
            if m == 0 {
                // Past the end: adding zeros would change nothing.
                break;
            }
            let mut r = x;
            for (i, &a) in av[..prior.len()].iter().enumerate() {
                // Bit set (+1): r − a; clear (−1): r + a, which is what `r - (-a)` computes.
                let bits = chunk_bits(&planes[i * words..], base);
                r = _mm512_mask_blend_ps(bits, _mm512_add_ps(r, a), _mm512_sub_ps(r, a));
            }
            let pos = _mm512_mask_cmp_ps_mask::<_CMP_GE_OQ>(m, r, zero);
            out[base / 64] |= u64::from(pos) << (base % 64);
            // Tail lanes hold r = 0 ∓ α: zero them, they are not entries.
            abs.add(h, _mm512_maskz_mov_ps(m, _mm512_abs_ps(r)));
            dot.add(h, signed(pos, x));
        }
        if (step + LANES).is_multiple_of(BLOCK) {
            abs.flush();
            dot.flush();
        }
    }
    (abs.finish(), dot.finish())
}

/// See [`portable::bst_assign`](super::portable::bst_assign). The midpoint of each lane's
/// current tree node and the final bit pattern are looked up with in-register permutes
/// (k ≤ 4: tables of ≤ 16 entries) or gathers (k ≥ 5); the root is a broadcast.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) fn bst_assign(
    w: &[f32],
    table: &CodeTable,
    planes: &mut [u64],
    words: usize,
    dots: &mut [f64],
) {
    // One instance per k, so that the plane loop unrolls and the accumulators stay in
    // registers.
    match table.bits {
        1 => bst_assign_k::<1>(w, table, planes, words, dots),
        2 => bst_assign_k::<2>(w, table, planes, words, dots),
        3 => bst_assign_k::<3>(w, table, planes, words, dots),
        4 => bst_assign_k::<4>(w, table, planes, words, dots),
        5 => bst_assign_k::<5>(w, table, planes, words, dots),
        6 => bst_assign_k::<6>(w, table, planes, words, dots),
        7 => bst_assign_k::<7>(w, table, planes, words, dots),
        _ => bst_assign_k::<8>(w, table, planes, words, dots),
    }
}

/// [`bst_assign`] for `K = table.bits`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
fn bst_assign_k<const K: usize>(
    w: &[f32],
    table: &CodeTable,
    planes: &mut [u64],
    words: usize,
    dots: &mut [f64],
) {
    debug_assert_eq!(table.bits, K);
    let k = K;
    planes[..k * words].fill(0);
    let top = 1usize << (k - 1);
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
    let mut acc = [Sum::new(); K];
    for step in (0..w.len()).step_by(LANES) {
        for h in 0..2 {
            let base = step + 16 * h;
            let (x, m) = load(w, base);
            if m == 0 {
                break;
            }
            let ge = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, root);
            let mut idx = _mm512_maskz_mov_epi32(ge, _mm512_set1_epi32(top as i32));
            let mut half = top >> 1;
            while half > 0 {
                let node = _mm512_add_epi32(idx, _mm512_set1_epi32(half as i32 - 1));
                let mid = if small {
                    _mm512_permutexvar_ps(node, mids16)
                } else {
                    // SAFETY: every lane of `node` is < 2^k − 1 ≤ 255 (idx ≤ 2^k − 2·half),
                    // inside the 256-entry `mids` array; scale 4 = size of f32.
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
            for (i, a) in acc.iter_mut().enumerate() {
                let b = _mm512_mask_test_epi32_mask(m, pat, _mm512_set1_epi32(1 << i));
                planes[i * words + base / 64] |= u64::from(b) << (base % 64);
                a.add(h, signed(b, x));
            }
        }
        if (step + LANES).is_multiple_of(BLOCK) {
            acc.iter_mut().for_each(|a| a.flush());
        }
    }
    for (d, a) in dots.iter_mut().zip(acc) {
        *d = a.finish();
    }
}

/// See [`lsq::plane_dot`](super::lsq::plane_dot): `n − 2·popcount(a ⊕ b)` with VPOPCNTQ,
/// eight words at a time.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) fn plane_dot(n: usize, a: &[u64], b: &[u64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let len = a.len().min(b.len());
    let mut acc = _mm512_setzero_si512();
    for base in (0..len).step_by(8) {
        let m: __mmask8 = if len - base >= 8 {
            0xFF
        } else {
            ((1u32 << (len - base)) - 1) as __mmask8
        };
        // SAFETY: `base < len ≤ a.len(), b.len()` and the mask enables only the words
        // `base..len`, inside both slices; masked-off words are not accessed.
        let (x, y) = unsafe {
            (
                _mm512_maskz_loadu_epi64(m, a.as_ptr().add(base).cast()),
                _mm512_maskz_loadu_epi64(m, b.as_ptr().add(base).cast()),
            )
        };
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(x, y)));
    }
    let differ = _mm512_reduce_add_epi64(acc) as u64;
    n as f64 - 2.0 * differ as f64
}
