//! The weight layout the lookup kernels read.
//!
//! Rows are grouped in *blocks* of [`BLOCK_ROWS`] = 16 and columns in *groups* of 4; eight
//! groups (32 columns) form a *k-step*. For each block, plane and k-step there is one 64-byte
//! unit, laid out as four 16-byte lanes (the lane width of `vpshufb` / `tbl`):
//!
//! ```text
//! byte [lane L][row b] = nibble(row b, group 8k + L) | nibble(row b, group 8k + 4 + L) << 4
//! ```
//!
//! so one 16-byte lane holds 16 rows × 2 groups, and every lane of a lookup register uses one
//! table: lane `L` of the "low" table register is group `8k + L`, of the "high" one group
//! `8k + 4 + L`. Since the tables are stored `[group][16]`, those registers are plain 64-byte
//! loads at `128·k` and `128·k + 64`. The AVX2 tier reads each unit as two 32-byte halves and
//! NEON as four 16-byte lanes, so every tier shares one layout (and one test oracle).
//!
//! A nibble holds the signs of 4 consecutive columns: bit `t` is column `4g + t` (1 = +1), the
//! crate's bit convention. Units are ordered `[block][plane][k-step]` so that a kernel walking
//! one plane reads contiguous memory. Rows past `rows` and columns past `n` are zero nibbles;
//! their tables entries are zero, so neither contributes (whatever the source padding bits were).

use crate::pack::{BitPlanes, BitPlanesRef};

/// Rows per block (bytes per 16-byte lookup lane).
pub const BLOCK_ROWS: usize = 16;
/// Columns per lookup group (bits in one table index).
pub const GROUP: usize = 4;
/// Columns per k-step (eight groups, two per byte, four lanes).
pub const KSTEP_COLS: usize = 32;
/// Bytes per `[block][plane][k-step]` unit.
pub const UNIT_BYTES: usize = 64;

/// Binary-coded weights repacked for the lookup-table kernels (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct LutWeights {
    rows: usize,
    n: usize,
    bits: usize,
    ksteps: usize,
    blocks: usize,
    /// `[block][plane][k-step][64]` nibble pairs.
    data: Vec<u8>,
    /// `[row][plane]`, as in [`BitPlanes`].
    alphas: Vec<f32>,
}

impl LutWeights {
    /// Repacks row-major bit planes (one pass over the planes; meant for load time).
    pub fn from_planes(p: BitPlanesRef<'_>) -> Self {
        let (rows, n, bits) = (p.rows(), p.n(), p.bits());
        let ksteps = n.div_ceil(KSTEP_COLS);
        let blocks = rows.div_ceil(BLOCK_ROWS);
        let groups = n.div_ceil(GROUP);
        let mut data = vec![0u8; blocks * bits * ksteps * UNIT_BYTES];
        for r in 0..rows {
            let (block, b) = (r / BLOCK_ROWS, r % BLOCK_ROWS);
            for i in 0..bits {
                let plane = p.plane(r, i);
                let unit0 = (block * bits + i) * ksteps;
                for g in 0..groups {
                    // Columns past n are masked off here: the layout's padding is always zero.
                    let mut nib = (plane[g / 16] >> ((g % 16) * 4)) & 0xF;
                    let valid = n - g * GROUP;
                    if valid < GROUP {
                        nib &= (1 << valid) - 1;
                    }
                    let (k, within) = (g / 8, g % 8);
                    let (lane, high) = (within % 4, within / 4);
                    let at = (unit0 + k) * UNIT_BYTES + lane * BLOCK_ROWS + b;
                    data[at] |= (nib as u8) << (4 * high);
                }
            }
        }
        Self {
            rows,
            n,
            bits,
            ksteps,
            blocks,
            data,
            alphas: p.alphas().to_vec(),
        }
    }

    /// Number of rows (outputs per activation vector).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Row length (activation length).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Planes per row.
    pub fn bits(&self) -> usize {
        self.bits
    }
    /// Bytes of real data: the plane bits (padded to 64-bit words, as in [`BitPlanes`]) plus
    /// the f32 coefficients. The repacked buffer itself is [`LutWeights::layout_bytes`].
    pub fn packed_bytes(&self) -> usize {
        self.rows * self.bits * self.n.div_ceil(64) * 8 + self.rows * self.bits * 4
    }
    /// Bytes actually held (nibble units, rows padded to 16 and columns to 32, plus α).
    pub fn layout_bytes(&self) -> usize {
        self.data.len() + self.alphas.len() * 4
    }
    /// Coefficients `[row][plane]`.
    pub fn alphas(&self) -> &[f32] {
        &self.alphas
    }

    pub(crate) fn ksteps(&self) -> usize {
        self.ksteps
    }
    pub(crate) fn blocks(&self) -> usize {
        self.blocks
    }
    /// Number of table groups per activation vector, padding included (`8 · ksteps`).
    pub(crate) fn padded_groups(&self) -> usize {
        self.ksteps * 8
    }
    /// The units of one block and plane: `ksteps · 64` bytes.
    pub(crate) fn plane_units(&self, block: usize, plane: usize) -> &[u8] {
        let len = self.ksteps * UNIT_BYTES;
        let start = (block * self.bits + plane) * len;
        &self.data[start..start + len]
    }
}

impl From<&BitPlanes> for LutWeights {
    fn from(p: &BitPlanes) -> Self {
        Self::from_planes(p.as_ref())
    }
}
