//! NEON kernel: `vqtbl1q_u8` performs 16 lookups (16 rows × 1 group) per instruction.
//!
//! **Not compiled or run on the development machine** (x86-64 only, no aarch64 standard
//! library installed); it was written against the same layout and contract as the other
//! tiers and must be checked by the tier tests on an aarch64 machine before it is trusted.
//!
//! Per k-step, plane and lane: one 16-byte load, two nibble extractions, two table lookups
//! (groups `8k + L` and `8k + 4 + L`), one byte add (≤ 254), then `uaddw`/`uaddw2` into two
//! u16x8 accumulators (rows 0–7 and 8–15). Each row gains at most 4 · 254 = 1016 per k-step,
//! so the accumulators are flushed into i32 every [`CHUNK`] = 64 k-steps (65 024 < 2¹⁶).

use std::arch::aarch64::*;

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// k-steps between two flushes of the u16 accumulators.
const CHUNK: usize = 64;

/// Same contract and result as [`super::portable::block_kernel`], bit for bit.
///
/// # Safety
/// The CPU must support NEON. Panics if `tables` is shorter than `128 · ksteps` or `raw` than
/// `16 · bits`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let ks = w.ksteps();
    let tables = &tables[..ks * 2 * UNIT_BYTES];
    let m0f = vdupq_n_u8(0x0f);
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        debug_assert_eq!(units.len(), ks * UNIT_BYTES);
        let mut k0 = 0;
        while k0 < ks {
            let k1 = (k0 + CHUNK).min(ks);
            let mut a_lo = vdupq_n_u16(0);
            let mut a_hi = vdupq_n_u16(0);
            for k in k0..k1 {
                for lane in 0..4 {
                    // SAFETY: k < ks and lane < 4: the unit byte range k·64 + 16·lane .. +16 is
                    // inside `units` (ks·64 bytes), and the table ranges k·128 + 16·lane and
                    // k·128 + 64 + 16·lane .. +16 are inside `tables` (ks·128 bytes).
                    let (v, tlo, thi) = unsafe {
                        let u = units.as_ptr().add(k * UNIT_BYTES + lane * 16);
                        let t = tables.as_ptr().add(k * 2 * UNIT_BYTES + lane * 16);
                        (vld1q_u8(u), vld1q_u8(t), vld1q_u8(t.add(UNIT_BYTES)))
                    };
                    let lo = vandq_u8(v, m0f);
                    let hi = vshrq_n_u8::<4>(v);
                    let s = vaddq_u8(vqtbl1q_u8(tlo, lo), vqtbl1q_u8(thi, hi));
                    a_lo = vaddw_u8(a_lo, vget_low_u8(s));
                    a_hi = vaddw_high_u8(a_hi, s);
                }
            }
            flush(a_lo, a_hi, acc);
            k0 = k1;
        }
    }
}

/// Widens the two u16x8 row accumulators (rows 0–7, 8–15) and adds them into `acc[16]`.
#[target_feature(enable = "neon")]
fn flush(a_lo: uint16x8_t, a_hi: uint16x8_t, acc: &mut [i32]) {
    let parts = [
        vmovl_u16(vget_low_u16(a_lo)),
        vmovl_high_u16(a_lo),
        vmovl_u16(vget_low_u16(a_hi)),
        vmovl_high_u16(a_hi),
    ];
    let acc: &mut [i32; 16] = (&mut acc[..16]).try_into().expect("16 rows");
    for (j, p) in parts.into_iter().enumerate() {
        // SAFETY: j < 4, so acc[4j..4j+4] is in bounds of the 16-element array.
        unsafe {
            let d = acc.as_mut_ptr().add(4 * j);
            vst1q_s32(d, vaddq_s32(vld1q_s32(d), vreinterpretq_s32_u32(p)));
        }
    }
}
