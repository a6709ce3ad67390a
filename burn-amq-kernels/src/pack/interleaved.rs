//! Row-block-interleaved bit planes: the layout the popcount kernels read.
//!
//! Rows are grouped in blocks of [`ROW_BLOCK`] = 8. Within a block, word `k` of plane `i` of
//! the 8 rows is stored as 8 consecutive `u64` lanes (one [`Lanes`] chunk, 64 bytes, 64-byte
//! aligned), so one AVX-512 load fetches it and every lane accumulates its own row: no
//! horizontal reduction is ever needed. Chunks are ordered `[block][word][plane]`, so the
//! planes of one word sit next to each other and a kernel walks the block's memory linearly.
//! Coefficients are interleaved the same way, `[block][plane][lane]`. The last block is padded
//! with all-zero rows whose α is 0, so they contribute nothing and are never written out.

use bytemuck::{Pod, Zeroable};

use super::bitplanes::{BitPlanes, BitPlanesRef, words_for};

/// Rows per interleaved block (one `u64` lane per row of a 512-bit register).
pub const ROW_BLOCK: usize = 8;

/// Word `k` of one plane for the 8 rows of a block, one `u64` lane per row.
///
/// 64-byte aligned so that a 512-bit load of a chunk never splits a cache line.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Pod, Zeroable)]
pub struct Lanes(pub [u64; ROW_BLOCK]);

const _: () = assert!(std::mem::size_of::<Lanes>() == 64);
const _: () = assert!(std::mem::align_of::<Lanes>() == 64);

/// Bit planes interleaved in blocks of [`ROW_BLOCK`] rows (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct InterleavedPlanes {
    rows: usize,
    n: usize,
    bits: usize,
    words: usize,
    blocks: usize,
    /// `[block][word][plane]` chunks of 8 lanes.
    planes: Vec<Lanes>,
    /// `[block][plane][lane]`, zero for padding rows.
    alphas: Vec<f32>,
}

impl InterleavedPlanes {
    /// Repacks row-major planes into the interleaved layout (bits are copied verbatim,
    /// padding bits included).
    pub fn from_planes(p: BitPlanesRef<'_>) -> Self {
        let (rows, n, bits) = (p.rows(), p.n(), p.bits());
        let words = words_for(n);
        let blocks = rows.div_ceil(ROW_BLOCK);
        let mut planes = vec![Lanes::default(); blocks * words * bits];
        let mut alphas = vec![0.0f32; blocks * bits * ROW_BLOCK];
        for r in 0..rows {
            let (blk, lane) = (r / ROW_BLOCK, r % ROW_BLOCK);
            for (i, &a) in p.row_alphas(r).iter().enumerate() {
                alphas[(blk * bits + i) * ROW_BLOCK + lane] = a;
                for (k, &word) in p.plane(r, i).iter().enumerate() {
                    planes[(blk * words + k) * bits + i].0[lane] = word;
                }
            }
        }
        Self {
            rows,
            n,
            bits,
            words,
            blocks,
            planes,
            alphas,
        }
    }

    /// Converts back to the row-major layout (exact inverse of [`Self::from_planes`]).
    pub fn to_bit_planes(&self) -> BitPlanes {
        let (rows, bits, words) = (self.rows, self.bits, self.words);
        let mut planes = vec![0u64; rows * bits * words];
        let mut alphas = vec![0.0f32; rows * bits];
        for r in 0..rows {
            let (blk, lane) = (r / ROW_BLOCK, r % ROW_BLOCK);
            for i in 0..bits {
                alphas[r * bits + i] = self.alphas[(blk * bits + i) * ROW_BLOCK + lane];
                for k in 0..words {
                    planes[(r * bits + i) * words + k] =
                        self.planes[(blk * words + k) * bits + i].0[lane];
                }
            }
        }
        // The shape came from a validated `BitPlanesRef`, so `new` cannot fail; `to_owned`
        // then skips the finiteness and padding scans, keeping the round trip exact for any
        // content the input view held.
        BitPlanesRef::new(rows, self.n, bits, &alphas, &planes)
            .expect("interleaved planes always hold a valid shape")
            .to_owned()
    }

    /// Number of real (unpadded) rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Row length in elements (bits per plane).
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of planes per row.
    pub fn bits(&self) -> usize {
        self.bits
    }
    /// `u64` words per plane.
    pub fn words(&self) -> usize {
        self.words
    }
    /// Number of row blocks (`ceil(rows / 8)`).
    pub fn blocks(&self) -> usize {
        self.blocks
    }
    /// All plane chunks, `[block][word][plane]`.
    pub fn planes(&self) -> &[Lanes] {
        &self.planes
    }
    /// All coefficients, `[block][plane][lane]` (zero in padding rows).
    pub fn alphas(&self) -> &[f32] {
        &self.alphas
    }
    /// The `words · bits` chunks of one block (panics if `block >= blocks`).
    pub fn block_planes(&self, block: usize) -> &[Lanes] {
        let len = self.words * self.bits;
        &self.planes[block * len..(block + 1) * len]
    }
    /// The `bits · 8` coefficients of one block, `[plane][lane]` (panics if out of range).
    pub fn block_alphas(&self, block: usize) -> &[f32] {
        let len = self.bits * ROW_BLOCK;
        &self.alphas[block * len..(block + 1) * len]
    }
    /// Bytes of real data: `rows · bits · words · 8` for the planes plus `rows · bits · 4`
    /// for the coefficients (the padding rows of the last block are not counted).
    pub fn packed_bytes(&self) -> usize {
        self.rows * self.bits * self.words * 8 + self.rows * self.bits * 4
    }
}

impl From<&BitPlanes> for InterleavedPlanes {
    fn from(p: &BitPlanes) -> Self {
        Self::from_planes(p.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rows: usize, n: usize, bits: usize) -> BitPlanes {
        let words = words_for(n);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let tail = super::super::bitplanes::tail_mask(n);
        let planes: Vec<u64> = (0..rows * bits * words)
            .map(|i| {
                let w = next();
                if i % words == words - 1 { w & tail } else { w }
            })
            .collect();
        let alphas: Vec<f32> = (0..rows * bits).map(|i| i as f32 * 0.25 + 1.0).collect();
        BitPlanes::from_parts(rows, n, bits, alphas, planes).unwrap()
    }

    #[test]
    fn round_trip_and_layout() {
        for &(rows, n, bits) in &[(1, 1, 1), (7, 63, 2), (9, 65, 3), (17, 300, 8), (8, 64, 1)] {
            let p = sample(rows, n, bits);
            let il = InterleavedPlanes::from(&p);
            assert_eq!(il.to_bit_planes(), p);
            assert_eq!(il.blocks(), rows.div_ceil(8));
            assert_eq!(il.words(), words_for(n));
            assert_eq!(il.packed_bytes(), p.packed_bytes());
            // Spot-check the layout: last row, last plane, last word.
            let (r, i, k) = (rows - 1, bits - 1, words_for(n) - 1);
            assert_eq!(
                il.block_planes(r / 8)[k * bits + i].0[r % 8],
                p.plane(r, i)[k]
            );
            assert_eq!(il.block_alphas(r / 8)[i * 8 + r % 8], p.row_alphas(r)[i]);
            // Padding rows are zero, with zero α.
            let used = rows % 8;
            if used != 0 {
                let blk = il.blocks() - 1;
                assert!(
                    il.block_planes(blk)
                        .iter()
                        .all(|c| c.0[used..].iter().all(|&w| w == 0))
                );
                assert!(
                    il.block_alphas(blk)
                        .chunks(8)
                        .all(|a| a[used..].iter().all(|&v| v == 0.0))
                );
            }
            assert_eq!(
                il.planes().as_ptr() as usize % 64,
                0,
                "chunks are 64-byte aligned"
            );
        }
    }
}
