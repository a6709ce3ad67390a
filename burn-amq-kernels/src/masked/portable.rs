//! Portable tier: plain loops that define the summation order every tier follows.
//!
//! Also the kernel of the `popcnt` and `neon` tiers, and the code that computes `S` for all
//! tiers.

use super::SumArgs;

/// Lanes of one accumulator: the summation order of every tier is defined on 16 lanes
/// (one AVX-512 register, two AVX2 registers).
pub(super) const LANES: usize = 16;

/// Most items per tile: any number works here; 4 matches the widest SIMD tile.
pub(super) const MAX_ITEMS: usize = 4;

/// The canonical sum of `x` under `mask(c)` (the 16 selection bits of chunk `c`): 16 lanes,
/// lane `l` adding `x[16c + l]` for `c = 0, 1, …` when bit `l` of `mask(c)` is set, then the
/// fixed reduction of [`reduce`]. Adding `+0.0` for unselected entries equals skipping them
/// (a lane started at `+0.0` never holds `−0.0`), which lets the compiler vectorise the loop.
#[inline(always)]
fn lane_sum(x: &[f32], mask: impl Fn(usize) -> u16) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for (c, xc) in (&mut chunks).enumerate() {
        let m = mask(c);
        for (l, (a, &v)) in acc.iter_mut().zip(xc).enumerate() {
            *a += if (m >> l) & 1 == 1 { v } else { 0.0 };
        }
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let m = mask(x.len() / LANES);
        for (l, (a, &v)) in acc.iter_mut().zip(tail).enumerate() {
            *a += if (m >> l) & 1 == 1 { v } else { 0.0 };
        }
    }
    reduce(&acc)
}

/// The fixed reduction of 16 lanes: `l + (l+8)`, then `+ (l+4)`, then `+ (l+2)`, then
/// lane 0 + lane 1. The SIMD tiers reproduce exactly these additions.
#[inline(always)]
pub(super) fn reduce(a: &[f32; LANES]) -> f32 {
    let r8: [f32; 8] = std::array::from_fn(|l| a[l] + a[l + 8]);
    let r4: [f32; 4] = std::array::from_fn(|l| r8[l] + r8[l + 4]);
    let r2 = [r4[0] + r4[2], r4[1] + r4[3]];
    r2[0] + r2[1]
}

/// The 16 selection bits of chunk `c` of a plane (bits `16c .. 16c + 16`), read with shifts so
/// the result does not depend on the host's byte order.
#[inline(always)]
fn chunk_mask(plane: &[u64], c: usize) -> u16 {
    (plane[c / 4] >> (16 * (c % 4))) as u16
}

/// `S = Σⱼ xⱼ` in the canonical order (every entry selected).
pub(super) fn total(x: &[f32]) -> f32 {
    lane_sum(x, |_| u16::MAX)
}

/// `Pᵢ` of every stream of the block against every item of the tile, one at a time.
///
/// # Safety
/// None required (`unsafe` only to share the kernel type); panics on inconsistent arguments.
pub(super) unsafe fn block_sums(a: &mut SumArgs<'_>) {
    a.assert_consistent();
    let (words, n, items) = (a.words, a.n, a.items);
    for s in 0..a.streams {
        let plane = &a.planes[s * words..(s + 1) * words];
        for b in 0..items {
            let xb = &a.x[b * n..(b + 1) * n];
            a.sums[s * items + b] = lane_sum(xb, |c| chunk_mask(plane, c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_order_is_the_documented_tree() {
        // 2²⁴ + 1 rounds back to 2²⁴ (ties to even), 2²⁴ + 2 is exact: the result shows
        // which ones were added together before meeting 2²⁴.
        let mut a = [0.0f32; LANES];
        a[0] = 16_777_216.0;
        a[4] = 1.0;
        a[12] = 1.0;
        // The tree adds a4 + a12 = 2 first, then meets a0: 2²⁴ + 2. A left-to-right sum
        // would absorb each 1 separately and return 2²⁴.
        assert_eq!(reduce(&a), 16_777_218.0);
        // a0 + a8 comes first: the lone 1 in lane 8 is absorbed, the pair 4/12 is not.
        a[8] = 1.0;
        assert_eq!(reduce(&a), 16_777_218.0);
        a[12] = 0.0;
        // (a0 + a8) = 2²⁴, (a4 + a12) = 1, 2²⁴ + 1 → 2²⁴.
        assert_eq!(reduce(&a), 16_777_216.0);
    }

    #[test]
    fn lane_sum_selects_by_bit() {
        let x: Vec<f32> = (0..20).map(|j| j as f32).collect();
        // Bits 0, 3 and 17 (chunk 1, lane 1).
        let plane = [0b1001u64 | (1 << 17)];
        assert_eq!(lane_sum(&x, |c| chunk_mask(&plane, c)), 0.0 + 3.0 + 17.0);
        assert_eq!(total(&x), (0..20).sum::<i32>() as f32);
        // Bits past the end of x are ignored.
        let padded = [u64::MAX];
        assert_eq!(lane_sum(&x[..5], |c| chunk_mask(&padded, c)), 10.0);
    }
}
