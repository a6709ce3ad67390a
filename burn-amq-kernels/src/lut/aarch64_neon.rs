//! NEON kernel: `vqtbl1q_u8` performs 16 lookups (16 rows × 1 group) per instruction.
//!
//! **Not compiled or run on the development machine** (x86-64 only, no aarch64 standard
//! library installed); it was written against the same layout and contract as the other
//! tiers and must be checked by the tier tests on an aarch64 machine before it is trusted.
//!
//! Per unit (64 rows, see [`super::layout`]) and plane: four 16-byte loads, nibble
//! extraction (`and`, `ushr`), two table lookups each (groups `2u` and `2u + 1`), each added
//! with `uaddw`/`uaddw2` into eight u16x8 row accumulators. Each row gains at most
//! 2 · 255 = 510 per unit, so they are flushed into i32 every [`CHUNK`] = 128 units
//! (65 280 < 2¹⁶).

use std::arch::aarch64::*;

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// Units between two flushes of the u16 accumulators.
const CHUNK: usize = 128;

/// Same contract and result as [`super::portable::block_kernel`], bit for bit.
///
/// # Safety
/// The CPU must support NEON. Panics if `tables` is shorter than `32 · units` or `raw` than
/// `64 · bits`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let nu = w.units();
    let tables = &tables[..nu * 32];
    let m0f = vdupq_n_u8(0x0f);
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        debug_assert_eq!(units.len(), nu * UNIT_BYTES);
        let mut u0 = 0;
        while u0 < nu {
            let u1 = (u0 + CHUNK).min(nu);
            let mut sums = [vdupq_n_u16(0); 8];
            for u in u0..u1 {
                // SAFETY: u < nu: the 32 table bytes at u·32 are inside `tables` (nu·32 bytes).
                let (tlo, thi) = unsafe {
                    let t = tables.as_ptr().add(u * 32);
                    (vld1q_u8(t), vld1q_u8(t.add(16)))
                };
                for q in 0..4 {
                    // SAFETY: u < nu and q < 4: bytes u·64 + 16q .. +16 are inside `units`
                    // (nu·64 bytes).
                    let v = unsafe { vld1q_u8(units.as_ptr().add(u * UNIT_BYTES + 16 * q)) };
                    let lo = vandq_u8(v, m0f);
                    let hi = vshrq_n_u8::<4>(v);
                    let sl = vqtbl1q_u8(tlo, lo);
                    let sh = vqtbl1q_u8(thi, hi);
                    sums[2 * q] = vaddw_u8(vaddw_u8(sums[2 * q], vget_low_u8(sl)), vget_low_u8(sh));
                    sums[2 * q + 1] = vaddw_high_u8(vaddw_high_u8(sums[2 * q + 1], sl), sh);
                }
            }
            flush(&sums, acc);
            u0 = u1;
        }
    }
}

/// Widens the eight u16x8 row accumulators (rows 8j..8j+7) and adds them into `acc[64]`.
#[target_feature(enable = "neon")]
fn flush(sums: &[uint16x8_t; 8], acc: &mut [i32]) {
    let acc: &mut [i32; 64] = (&mut acc[..64]).try_into().expect("64 rows");
    for (j, &s) in sums.iter().enumerate() {
        let parts = [vmovl_u16(vget_low_u16(s)), vmovl_high_u16(s)];
        for (h, p) in parts.into_iter().enumerate() {
            // SAFETY: j < 8 and h < 2, so acc[8j + 4h .. +4] is inside the 64-element array.
            unsafe {
                let d = acc.as_mut_ptr().add(8 * j + 4 * h);
                vst1q_s32(d, vaddq_s32(vld1q_s32(d), vreinterpretq_s32_u32(p)));
            }
        }
    }
}
