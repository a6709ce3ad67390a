//! Plain portable lookup kernel: the integer oracle every SIMD tier must match exactly.
//!
//! Also the kernel of the `popcnt` and `portable` tiers (a lookup has no use for `popcnt`).

use super::layout::{BLOCK_ROWS, LutWeights, UNIT_BYTES};

/// Raw (biased) sums of one block: `raw[plane·64 + b] = Σ_groups u` for row `64·block + b`,
/// where `u` is the biased table entry selected by that row's nibble (see [`super::tables`]).
///
/// # Safety
/// None required (`unsafe` only to share the kernel type). Panics if `tables` is shorter than
/// `32 · units` or `raw` than `64 · bits` (the driver guarantees both).
pub(crate) unsafe fn block_kernel(w: &LutWeights, block: usize, tables: &[u8], raw: &mut [i32]) {
    let tables = &tables[..w.units() * 32];
    for (i, acc) in raw.chunks_exact_mut(BLOCK_ROWS).take(w.bits()).enumerate() {
        acc.fill(0);
        let units = w.plane_units(block, i);
        for (u, t) in units.chunks_exact(UNIT_BYTES).zip(tables.chunks_exact(32)) {
            let (tlo, thi) = t.split_at(16);
            for (a, &byte) in acc.iter_mut().zip(u) {
                *a += tlo[(byte & 15) as usize] as i32 + thi[(byte >> 4) as usize] as i32;
            }
        }
    }
}
