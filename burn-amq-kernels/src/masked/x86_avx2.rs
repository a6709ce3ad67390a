//! AVX2 tier: 16-bit masks expanded to lane masks, then `and` + `add` on two ymm per chunk.
//!
//! A 16-lane accumulator is two ymm (lanes 0–7 and 8–15), so the summation order is the one
//! the other tiers use. Per stream and chunk, the mask (the plane's next 16 bits) is
//! broadcast to 8 i32 lanes, ANDed with the lane bits `1 << l` (resp. `1 << (8 + l)`) and
//! compared with them: all-ones where the bit is set. Those 5 instructions are shared by the
//! `BT` items of the tile; each item then costs an `and` (select `x` or `+0.0`) and an `add`
//! per ymm. A tile keeps `NS · BT <= 4` accumulators (8 ymm) plus `2 · BT` vectors of `x` in
//! the 16 registers. The last partial chunk uses masked loads, so `x` is never read past its
//! end.

#![allow(
    clippy::needless_range_loop,
    reason = "register tiles are indexed [stream][item]; index loops keep both dimensions readable"
)]

use std::arch::x86_64::*;

use super::SumArgs;
use crate::popcount::Tiles;

/// Most items per tile.
pub(super) const MAX_ITEMS: usize = 2;

/// Most streams per tile for `items` items: the 4-accumulator budget.
fn max_streams(items: usize) -> usize {
    if items == 1 { 4 } else { 2 }
}

/// Same contract and result as [`super::portable::block_sums`], bit for bit.
///
/// # Safety
/// The CPU must support AVX2. Panics on inconsistent arguments or more than [`MAX_ITEMS`]
/// items.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn block_sums(a: &mut SumArgs<'_>) {
    a.assert_consistent();
    assert!((1..=MAX_ITEMS).contains(&a.items), "tile items");
    let masks: &[u16] = bytemuck::cast_slice(a.planes);
    let stride = a.words * 4;
    let (n, items) = (a.n, a.items);
    for (s0, ns) in Tiles::new(a.streams, max_streams(items)) {
        let m = &masks[s0 * stride..(s0 + ns) * stride];
        let out = &mut a.sums[s0 * items..(s0 + ns) * items];
        tiles4!(ns, items, tile(m, stride, a.x, n, out));
    }
}

/// Lane masks of the first `count` lanes of 8 (`count` may exceed 8).
#[target_feature(enable = "avx2")]
#[inline]
fn first_lanes(count: usize) -> __m256i {
    let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(count.min(8) as i32), idx)
}

/// The sums of `NS` streams (`masks`, `stride` u16 apart) against `BT` items of `x`, into
/// `out[s · BT + b]`.
#[target_feature(enable = "avx2")]
#[inline]
fn tile<const NS: usize, const BT: usize>(
    masks: &[u16],
    stride: usize,
    x: &[f32],
    n: usize,
    out: &mut [f32],
) {
    let chunks = n.div_ceil(16);
    // One check up front makes every unchecked access below in bounds.
    assert!(
        chunks <= stride
            && masks.len() >= (NS - 1) * stride + chunks
            && x.len() >= BT * n
            && out.len() >= NS * BT
    );
    let (mp, xp) = (masks.as_ptr(), x.as_ptr());
    let bits_lo = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    let bits_hi = _mm256_slli_epi32::<8>(bits_lo);
    let z = _mm256_setzero_ps();
    let mut acc = [[(z, z); BT]; NS];
    // Chunk `c` given its x vectors and the lanes `keep` valid. A macro rather than a closure,
    // so the accumulators stay in registers (see the AVX-512 tier).
    macro_rules! step {
        ($c:expr, $keep:expr, $xv:expr) => {{
            let (c, keep): (usize, u16) = ($c, $keep);
            let xv: &[(__m256, __m256); BT] = $xv;
            for s in 0..NS {
                // SAFETY: s < NS and c < chunks <= stride: index < (NS − 1)·stride + chunks.
                let m = unsafe { *mp.add(s * stride + c) } & keep;
                let bm = _mm256_set1_epi32(i32::from(m));
                let lo =
                    _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(bm, bits_lo), bits_lo));
                let hi =
                    _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(bm, bits_hi), bits_hi));
                for b in 0..BT {
                    let (al, ah) = acc[s][b];
                    acc[s][b] = (
                        _mm256_add_ps(al, _mm256_and_ps(xv[b].0, lo)),
                        _mm256_add_ps(ah, _mm256_and_ps(xv[b].1, hi)),
                    );
                }
            }
        }};
    }
    let full = n / 16;
    for c in 0..full {
        let mut xv = [(z, z); BT];
        for b in 0..BT {
            // SAFETY: columns 16c .. 16c + 16 <= n of item b < BT are inside `x` (asserted).
            xv[b] = unsafe {
                let p = xp.add(b * n + 16 * c);
                (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)))
            };
        }
        step!(c, u16::MAX, &xv);
    }
    let tail = n % 16;
    if tail != 0 {
        let mut xv = [(z, z); BT];
        for b in 0..BT {
            // SAFETY: `maskload` touches only the enabled lanes, columns 16·full .. n of item
            // b < BT, all inside `x`; the upper half is loaded only when it has valid lanes,
            // so its address (16·full + 8 < n) is in bounds too.
            xv[b] = unsafe {
                let p = xp.add(b * n + 16 * full);
                let lo = _mm256_maskload_ps(p, first_lanes(tail));
                let hi = if tail > 8 {
                    _mm256_maskload_ps(p.add(8), first_lanes(tail - 8))
                } else {
                    z
                };
                (lo, hi)
            };
        }
        step!(full, (1u16 << tail) - 1, &xv);
    }
    for s in 0..NS {
        for b in 0..BT {
            out[s * BT + b] = reduce(acc[s][b]);
        }
    }
}

/// The canonical reduction ([`super::portable::reduce`]) of lanes 0–7 (`v.0`) and 8–15
/// (`v.1`): `l + (l+8)`, `+ (l+4)`, `+ (l+2)`, lane 0 + lane 1.
#[target_feature(enable = "avx2")]
#[inline]
fn reduce(v: (__m256, __m256)) -> f32 {
    let r8 = _mm256_add_ps(v.0, v.1);
    let r4 = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps::<1>(r8));
    let r2 = _mm_add_ps(r4, _mm_movehl_ps(r4, r4));
    let r1 = _mm_add_ss(r2, _mm_shuffle_ps::<0b01>(r2, r2));
    _mm_cvtss_f32(r1)
}
