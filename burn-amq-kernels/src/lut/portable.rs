//! Plain portable lookup kernel: the integer oracle every SIMD tier must match exactly.
//!
//! Also the kernel of the `popcnt` and `portable` tiers (a lookup has no use for `popcnt`).

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// Raw (biased) sums of one block: `raw[plane·16 + b] = Σ_groups u` for row `16·block + b`,
/// where `u` is the biased table entry selected by that row's nibble (see [`super::tables`]).
///
/// # Safety
/// None required (`unsafe` only to share the kernel type). Panics if `tables` is shorter than
/// `128 · ksteps` or `raw` than `16 · bits` (the driver guarantees both).
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let ks = w.ksteps();
    let tables = &tables[..ks * 2 * UNIT_BYTES];
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        for (u, t) in units
            .chunks_exact(UNIT_BYTES)
            .zip(tables.chunks_exact(2 * UNIT_BYTES))
        {
            for lane in 0..4 {
                let tlo = &t[lane * 16..lane * 16 + 16];
                let thi = &t[64 + lane * 16..64 + lane * 16 + 16];
                let bytes = &u[lane * 16..lane * 16 + 16];
                for (a, &byte) in acc.iter_mut().zip(bytes) {
                    *a += tlo[(byte & 15) as usize] as i32 + thi[(byte >> 4) as usize] as i32;
                }
            }
        }
    }
}
