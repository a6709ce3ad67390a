//! Row-major bit planes: the plain layout.

use crate::error::{AmqError, Result, check_bits, check_finite, check_len};

/// Number of `u64` words that hold `n` bits.
#[inline]
pub const fn words_for(n: usize) -> usize {
    n.div_ceil(64)
}

/// Mask of the valid bits in the last word of a plane of `n` bits (all ones when `n % 64 == 0`).
#[inline]
pub(crate) const fn tail_mask(n: usize) -> u64 {
    match n % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

/// Owned row-major bit planes: `rows` binary-coded rows of length `n` with `bits` planes each.
///
/// `planes` is `[row][plane][word]` (`rows · bits · words_for(n)` words) and `alphas` is
/// `[row][plane]` (`rows · bits` values, each row's α sorted descending and non-negative when
/// produced by this crate's quantizers). See the [module docs](crate::pack) for the bit
/// convention.
#[derive(Debug, Clone, PartialEq)]
pub struct BitPlanes {
    rows: usize,
    n: usize,
    bits: usize,
    alphas: Vec<f32>,
    planes: Vec<u64>,
}

/// Borrowed view of row-major bit planes (same layout as [`BitPlanes`]); lets kernels read
/// activations that live in caller-owned buffers.
#[derive(Debug, Clone, Copy)]
pub struct BitPlanesRef<'a> {
    rows: usize,
    n: usize,
    bits: usize,
    alphas: &'a [f32],
    planes: &'a [u64],
}

/// Mutable view of row-major bit planes in caller-owned buffers; quantizers write into it.
#[derive(Debug)]
pub struct BitPlanesMut<'a> {
    rows: usize,
    n: usize,
    bits: usize,
    alphas: &'a mut [f32],
    planes: &'a mut [u64],
}

fn validate(rows: usize, n: usize, bits: usize, alphas: usize, planes: usize) -> Result<()> {
    check_bits(bits)?;
    if rows == 0 {
        return Err(AmqError::Empty {
            what: "bit planes (rows)",
        });
    }
    if n == 0 {
        return Err(AmqError::Empty {
            what: "bit planes (row length)",
        });
    }
    check_len("alphas", rows * bits, alphas)?;
    check_len("planes", rows * bits * words_for(n), planes)?;
    Ok(())
}

fn check_padding(n: usize, words: usize, planes: &[u64]) -> Result<()> {
    let mask = tail_mask(n);
    if mask == u64::MAX {
        return Ok(());
    }
    for (p, chunk) in planes.chunks_exact(words).enumerate() {
        if chunk[words - 1] & !mask != 0 {
            return Err(AmqError::InvalidArgument(format!(
                "plane {p} has non-zero padding bits past n = {n}"
            )));
        }
    }
    Ok(())
}

impl BitPlanes {
    /// Builds planes from their parts, checking lengths, `bits`, finite α and zero padding.
    pub fn from_parts(
        rows: usize,
        n: usize,
        bits: usize,
        alphas: Vec<f32>,
        planes: Vec<u64>,
    ) -> Result<Self> {
        validate(rows, n, bits, alphas.len(), planes.len())?;
        check_finite("alphas", &alphas)?;
        check_padding(n, words_for(n), &planes)?;
        Ok(Self {
            rows,
            n,
            bits,
            alphas,
            planes,
        })
    }

    /// All-zero planes (every code −1) with zero α: a buffer to quantize into.
    pub fn zeros(rows: usize, n: usize, bits: usize) -> Result<Self> {
        validate(rows, n, bits, rows * bits, rows * bits * words_for(n))?;
        Ok(Self {
            rows,
            n,
            bits,
            alphas: vec![0.0; rows * bits],
            planes: vec![0; rows * bits * words_for(n)],
        })
    }

    /// Number of rows.
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
        words_for(self.n)
    }
    /// All coefficients, `[row][plane]`.
    pub fn alphas(&self) -> &[f32] {
        &self.alphas
    }
    /// All plane words, `[row][plane][word]`.
    pub fn planes(&self) -> &[u64] {
        &self.planes
    }
    /// The coefficients of one row (panics if `row >= rows`).
    pub fn row_alphas(&self, row: usize) -> &[f32] {
        &self.alphas[row * self.bits..(row + 1) * self.bits]
    }
    /// One plane of one row (panics if out of range).
    pub fn plane(&self, row: usize, plane: usize) -> &[u64] {
        let w = self.words();
        let start = (row * self.bits + plane) * w;
        &self.planes[start..start + w]
    }
    /// Borrowed view.
    pub fn as_ref(&self) -> BitPlanesRef<'_> {
        BitPlanesRef {
            rows: self.rows,
            n: self.n,
            bits: self.bits,
            alphas: &self.alphas,
            planes: &self.planes,
        }
    }
    /// Mutable view (for quantizing into this buffer).
    pub fn as_mut(&mut self) -> BitPlanesMut<'_> {
        BitPlanesMut {
            rows: self.rows,
            n: self.n,
            bits: self.bits,
            alphas: &mut self.alphas,
            planes: &mut self.planes,
        }
    }
    /// Splits into `(alphas, planes)`.
    pub fn into_parts(self) -> (Vec<f32>, Vec<u64>) {
        (self.alphas, self.planes)
    }
    /// Dequantized values `Σᵢ αᵢ bᵢ`, `[row][n]`.
    pub fn dequantize(&self) -> Vec<f32> {
        self.as_ref().dequantize()
    }
    /// Bytes of packed storage: plane words plus f32 coefficients.
    pub fn packed_bytes(&self) -> usize {
        self.planes.len() * 8 + self.alphas.len() * 4
    }
}

impl<'a> BitPlanesRef<'a> {
    /// A view over caller buffers, with the same checks as [`BitPlanes::from_parts`] except the
    /// finiteness and padding scans (the caller vouches for those; kernels stay correct for any
    /// bit content, only the padding convention affects the result).
    pub fn new(
        rows: usize,
        n: usize,
        bits: usize,
        alphas: &'a [f32],
        planes: &'a [u64],
    ) -> Result<Self> {
        validate(rows, n, bits, alphas.len(), planes.len())?;
        Ok(Self {
            rows,
            n,
            bits,
            alphas,
            planes,
        })
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Row length in elements.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of planes per row.
    pub fn bits(&self) -> usize {
        self.bits
    }
    /// `u64` words per plane.
    pub fn words(&self) -> usize {
        words_for(self.n)
    }
    /// All coefficients, `[row][plane]`.
    pub fn alphas(&self) -> &'a [f32] {
        self.alphas
    }
    /// All plane words, `[row][plane][word]`.
    pub fn planes(&self) -> &'a [u64] {
        self.planes
    }
    /// The coefficients of one row (panics if out of range).
    pub fn row_alphas(&self, row: usize) -> &'a [f32] {
        &self.alphas[row * self.bits..(row + 1) * self.bits]
    }
    /// One plane of one row (panics if out of range).
    pub fn plane(&self, row: usize, plane: usize) -> &'a [u64] {
        let w = self.words();
        let start = (row * self.bits + plane) * w;
        &self.planes[start..start + w]
    }
    /// Owned copy.
    pub fn to_owned(&self) -> BitPlanes {
        BitPlanes {
            rows: self.rows,
            n: self.n,
            bits: self.bits,
            alphas: self.alphas.to_vec(),
            planes: self.planes.to_vec(),
        }
    }
    /// Dequantized values `Σᵢ αᵢ bᵢ`, `[row][n]`.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.n];
        for (r, row_out) in out.chunks_exact_mut(self.n).enumerate() {
            self.fill_row(r, row_out);
        }
        out
    }
    /// Writes row `row` dequantized into `out` (`out.len() == n`).
    pub fn dequantize_row_into(&self, row: usize, out: &mut [f32]) -> Result<()> {
        if row >= self.rows {
            return Err(AmqError::ShapeMismatch(format!(
                "row {row} out of range for {} rows",
                self.rows
            )));
        }
        check_len("dequantized row", self.n, out.len())?;
        self.fill_row(row, out);
        Ok(())
    }

    fn fill_row(&self, row: usize, out: &mut [f32]) {
        out.fill(0.0);
        for (i, &a) in self.row_alphas(row).iter().enumerate() {
            let plane = self.plane(row, i);
            for (j, o) in out.iter_mut().enumerate() {
                let bit = (plane[j / 64] >> (j % 64)) & 1;
                *o += if bit == 1 { a } else { -a };
            }
        }
    }
}

impl<'a> BitPlanesMut<'a> {
    /// A mutable view over caller buffers (lengths and `bits` checked).
    pub fn new(
        rows: usize,
        n: usize,
        bits: usize,
        alphas: &'a mut [f32],
        planes: &'a mut [u64],
    ) -> Result<Self> {
        validate(rows, n, bits, alphas.len(), planes.len())?;
        Ok(Self {
            rows,
            n,
            bits,
            alphas,
            planes,
        })
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Row length in elements.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of planes per row.
    pub fn bits(&self) -> usize {
        self.bits
    }
    /// `u64` words per plane.
    pub fn words(&self) -> usize {
        words_for(self.n)
    }
    /// Read-only view of the same buffers.
    pub fn as_ref(&self) -> BitPlanesRef<'_> {
        BitPlanesRef {
            rows: self.rows,
            n: self.n,
            bits: self.bits,
            alphas: self.alphas,
            planes: self.planes,
        }
    }
    /// The coefficient and plane buffers of one row: `(α[bits], planes[bits · words])`.
    pub fn row_mut(&mut self, row: usize) -> (&mut [f32], &mut [u64]) {
        let (b, w) = (self.bits, self.words());
        (
            &mut self.alphas[row * b..(row + 1) * b],
            &mut self.planes[row * b * w..(row + 1) * b * w],
        )
    }
    /// Both whole buffers: `(alphas [row][plane], planes [row][plane][word])`.
    pub fn buffers_mut(&mut self) -> (&mut [f32], &mut [u64]) {
        (self.alphas, self.planes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_tail_mask() {
        assert_eq!(words_for(1), 1);
        assert_eq!(words_for(64), 1);
        assert_eq!(words_for(65), 2);
        assert_eq!(tail_mask(64), u64::MAX);
        assert_eq!(tail_mask(65), 1);
        assert_eq!(tail_mask(3), 0b111);
    }

    #[test]
    fn from_parts_rejects_bad_input() {
        assert!(matches!(
            BitPlanes::from_parts(1, 10, 9, vec![0.0; 9], vec![0; 9]),
            Err(AmqError::BitsOutOfRange { bits: 9 })
        ));
        assert!(matches!(
            BitPlanes::from_parts(1, 10, 2, vec![0.0; 3], vec![0; 2]),
            Err(AmqError::LengthMismatch { what: "alphas", .. })
        ));
        assert!(matches!(
            BitPlanes::from_parts(1, 10, 1, vec![f32::NAN], vec![0]),
            Err(AmqError::NonFinite { .. })
        ));
        assert!(matches!(
            BitPlanes::from_parts(1, 10, 1, vec![1.0], vec![1 << 10]),
            Err(AmqError::InvalidArgument(_))
        ));
        assert!(matches!(
            BitPlanes::from_parts(0, 10, 1, vec![], vec![]),
            Err(AmqError::Empty { .. })
        ));
    }

    #[test]
    fn dequantize_follows_bit_convention() {
        // n = 3, bits = 2: plane 0 = [+,-,+], plane 1 = [-,-,+]
        let p = BitPlanes::from_parts(1, 3, 2, vec![2.0, 0.5], vec![0b101, 0b100]).unwrap();
        assert_eq!(p.dequantize(), vec![1.5, -2.5, 2.5]);
        let mut row = [0.0; 3];
        p.as_ref().dequantize_row_into(0, &mut row).unwrap();
        assert_eq!(row, [1.5, -2.5, 2.5]);
        assert!(matches!(
            p.as_ref().dequantize_row_into(1, &mut row),
            Err(AmqError::ShapeMismatch(_))
        ));
        assert!(matches!(
            p.as_ref().dequantize_row_into(0, &mut [0.0; 2]),
            Err(AmqError::LengthMismatch { .. })
        ));
    }
}
