//! AVX-512 tier: one `vaddps` with a 16-bit write mask per 16 columns, stream and item.
//!
//! The mask is the plane's next 16 bits, loaded straight from the plane words (x86 is little
//! endian: bits `16c .. 16c + 16` of a plane are its `c`-th `u16`). A tile keeps
//! `NS · BT <= 16` accumulators (streams × items) in registers, plus `BT` vectors of `x`:
//! each mask is applied to all `BT` items, each `x` vector to all `NS` streams. The last
//! partial chunk of 16 columns uses a masked load, so `x` is never read past its end.

#![allow(
    clippy::needless_range_loop,
    reason = "register tiles are indexed [stream][item]; index loops keep both dimensions readable"
)]

use std::arch::x86_64::*;

use super::SumArgs;
use crate::popcount::Tiles;

/// Most items per tile.
pub(super) const MAX_ITEMS: usize = 4;

/// Most streams per tile for `items` items: the 16-accumulator budget.
fn max_streams(items: usize) -> usize {
    match items {
        1 => 16,
        2 => 8,
        _ => 4,
    }
}

/// Same contract and result as [`super::portable::block_sums`], bit for bit.
///
/// # Safety
/// The CPU must support AVX-512F. Panics on inconsistent arguments or more than
/// [`MAX_ITEMS`] items.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn block_sums(a: &mut SumArgs<'_>) {
    a.assert_consistent();
    assert!((1..=MAX_ITEMS).contains(&a.items), "tile items");
    let masks: &[u16] = bytemuck::cast_slice(a.planes);
    let stride = a.words * 4;
    let (n, items) = (a.n, a.items);
    for (s0, ns) in Tiles::new(a.streams, max_streams(items)) {
        let m = &masks[s0 * stride..(s0 + ns) * stride];
        let out = &mut a.sums[s0 * items..(s0 + ns) * items];
        tiles16!(ns, items, tile(m, stride, a.x, n, out));
    }
}

/// The sums of `NS` streams (`masks`, `stride` u16 apart) against `BT` items of `x`, into
/// `out[s · BT + b]`.
#[target_feature(enable = "avx512f")]
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
    let mut acc = [[_mm512_setzero_ps(); BT]; NS];
    // Chunk `c` with lanes `keep` valid: masked load of x, masked adds. A macro rather than a
    // closure: the compiler left the closure out of line, with the accumulators in memory.
    macro_rules! step {
        ($c:expr, $keep:expr) => {{
            let (c, keep): (usize, u16) = ($c, $keep);
            let mut xv = [_mm512_setzero_ps(); BT];
            for b in 0..BT {
                // SAFETY: the lanes enabled by `keep` are columns 16c .. 16c + 16 below n of
                // item b < BT, inside `x` (asserted); masked-off lanes are not accessed.
                xv[b] = unsafe { _mm512_maskz_loadu_ps(keep, xp.add(b * n + 16 * c)) };
            }
            for s in 0..NS {
                // SAFETY: s < NS and c < chunks <= stride: index < (NS − 1)·stride + chunks.
                let m = unsafe { *mp.add(s * stride + c) } & keep;
                for b in 0..BT {
                    acc[s][b] = _mm512_mask_add_ps(acc[s][b], m, acc[s][b], xv[b]);
                }
            }
        }};
    }
    let full = n / 16;
    for c in 0..full {
        step!(c, u16::MAX);
    }
    if !n.is_multiple_of(16) {
        step!(full, (1u16 << (n % 16)) - 1);
    }
    for s in 0..NS {
        for b in 0..BT {
            out[s * BT + b] = reduce(acc[s][b]);
        }
    }
}

/// The canonical reduction ([`super::portable::reduce`]): `l + (l+8)`, `+ (l+4)`, `+ (l+2)`,
/// lane 0 + lane 1.
#[target_feature(enable = "avx512f")]
#[inline]
fn reduce(v: __m512) -> f32 {
    let lo = _mm512_castps512_ps256(v);
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    let r8 = _mm256_add_ps(lo, hi);
    let r4 = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps::<1>(r8));
    let r2 = _mm_add_ps(r4, _mm_movehl_ps(r4, r4));
    let r1 = _mm_add_ss(r2, _mm_shuffle_ps::<0b01>(r2, r2));
    _mm_cvtss_f32(r1)
}
