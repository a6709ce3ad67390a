//! The weight layout the lookup kernels read.
//!
//! Rows are grouped in *blocks* of [`BLOCK_ROWS`] = 64 and columns in *groups* of 4. For each
//! block, plane and pair of groups `(2u, 2u + 1)` there is one 64-byte *unit*, one byte per
//! row:
//!
//! ```text
//! unit[u] byte b = nibble(row b, group 2u) | nibble(row b, group 2u + 1) << 4
//! ```
//!
//! A whole unit looks up one table per nibble, so a kernel broadcasts the 16-byte table of
//! group `2u` (low nibbles) and of group `2u + 1` (high nibbles) to every lane: `vpshufb`
//! (AVX2, AVX-512BW) or `tbl` (NEON) per 16-byte lane, or `vpermb` (AVX-512 VBMI) on the whole
//! register. `vpermb` uses six index bits, and the table is the same in all four 16-byte
//! quarters, so the two bits above the nibble do not matter: the nibble masks disappear.
//! One layout serves every tier (and one test oracle).
//!
//! A nibble holds the signs of 4 consecutive columns: bit `t` is column `4g + t` (1 = +1), the
//! crate's bit convention. Units are ordered `[block][plane][unit]` so that a kernel walking
//! one plane reads contiguous memory. Rows past `rows` and columns past `n` are zero nibbles,
//! and the tables of columns past `n` are zero, so neither contributes (whatever the source
//! padding bits were).

use crate::pack::{BitPlanes, BitPlanesRef};

/// Rows per block (one byte per row in a unit).
pub const BLOCK_ROWS: usize = 64;
/// Columns per lookup group (bits in one table index).
pub const GROUP: usize = 4;
/// Columns per unit (two groups, one per nibble).
pub const UNIT_COLS: usize = 8;
/// Bytes per `[block][plane][unit]` unit.
pub const UNIT_BYTES: usize = BLOCK_ROWS;

/// Binary-coded weights repacked for the lookup-table kernels (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct LutWeights {
    rows: usize,
    n: usize,
    bits: usize,
    units: usize,
    blocks: usize,
    /// `[block][plane][unit][64]` nibble pairs.
    data: Vec<u8>,
    /// `[row][plane]`, as in [`BitPlanes`].
    alphas: Vec<f32>,
    /// `[block][plane][64]`: the same coefficients transposed per block (zero for padding
    /// rows), so the final combination runs down 64 rows in vector registers.
    alphas_t: Vec<f32>,
}

impl LutWeights {
    /// Repacks row-major bit planes (one pass over the planes; meant for load time).
    pub fn from_planes(p: BitPlanesRef<'_>) -> Self {
        let (rows, n, bits) = (p.rows(), p.n(), p.bits());
        let units = n.div_ceil(UNIT_COLS);
        let blocks = rows.div_ceil(BLOCK_ROWS);
        let groups = n.div_ceil(GROUP);
        let mut data = vec![0u8; blocks * bits * units * UNIT_BYTES];
        for r in 0..rows {
            let (block, b) = (r / BLOCK_ROWS, r % BLOCK_ROWS);
            for i in 0..bits {
                let plane = p.plane(r, i);
                let unit0 = (block * bits + i) * units;
                for g in 0..groups {
                    // Columns past n are masked off here: the layout's padding is always zero.
                    let mut nib = (plane[g / 16] >> ((g % 16) * 4)) & 0xF;
                    let valid = n - g * GROUP;
                    if valid < GROUP {
                        nib &= (1 << valid) - 1;
                    }
                    let at = (unit0 + g / 2) * UNIT_BYTES + b;
                    data[at] |= (nib as u8) << (4 * (g % 2));
                }
            }
        }
        let mut alphas_t = vec![0.0f32; blocks * bits * BLOCK_ROWS];
        for r in 0..rows {
            for i in 0..bits {
                alphas_t[((r / BLOCK_ROWS) * bits + i) * BLOCK_ROWS + r % BLOCK_ROWS] =
                    p.alphas()[r * bits + i];
            }
        }
        Self {
            rows,
            n,
            bits,
            units,
            blocks,
            data,
            alphas: p.alphas().to_vec(),
            alphas_t,
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
    /// Bytes actually held (nibble units, rows padded to 64 and columns to 8, plus α twice:
    /// row-major and transposed per block).
    pub fn layout_bytes(&self) -> usize {
        self.data.len() + (self.alphas.len() + self.alphas_t.len()) * 4
    }
    /// Coefficients `[row][plane]`.
    pub fn alphas(&self) -> &[f32] {
        &self.alphas
    }

    /// Units per plane, `ceil(n / 8)`.
    pub(crate) fn units(&self) -> usize {
        self.units
    }
    pub(crate) fn blocks(&self) -> usize {
        self.blocks
    }
    /// Number of table groups per activation vector, padding included (`2 · units`).
    pub(crate) fn padded_groups(&self) -> usize {
        self.units * 2
    }
    /// The coefficients of one block, `[plane][64]`.
    pub(crate) fn block_alphas(&self, block: usize) -> &[f32] {
        let len = self.bits * BLOCK_ROWS;
        &self.alphas_t[block * len..(block + 1) * len]
    }
    /// The units of one block and plane: `units · 64` bytes.
    pub(crate) fn plane_units(&self, block: usize, plane: usize) -> &[u8] {
        let len = self.units * UNIT_BYTES;
        let start = (block * self.bits + plane) * len;
        &self.data[start..start + len]
    }
}

impl From<&BitPlanes> for LutWeights {
    fn from(p: &BitPlanes) -> Self {
        Self::from_planes(p.as_ref())
    }
}
