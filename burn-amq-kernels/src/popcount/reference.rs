//! The oracle: plain, obviously-correct loops on the row-major layout.
//!
//! Slow on purpose (no tiling, f64 accumulation); every tier is tested against it.

use super::{check_shapes, dot_of};
use crate::error::{Result, check_len};
use crate::pack::BitPlanesRef;

/// `out[b·m + r] = Σᵢⱼ α[r][i]·β[b][j]·(n − 2·popcount(W_i[r] XOR X_j[b]))`, accumulated in
/// f64 and rounded once. `out.len()` must be `x.rows() · w.rows()`.
pub fn popcount_matmul(w: BitPlanesRef<'_>, x: BitPlanesRef<'_>, out: &mut [f32]) -> Result<()> {
    check_shapes(w.n(), x.n())?;
    check_len("out", x.rows() * w.rows(), out.len())?;
    let m = w.rows();
    for b in 0..x.rows() {
        for r in 0..m {
            let mut sum = 0.0f64;
            for (i, &a) in w.row_alphas(r).iter().enumerate() {
                for (j, &be) in x.row_alphas(b).iter().enumerate() {
                    let d = dot_of(w.n(), w.plane(r, i), x.plane(b, j));
                    sum += f64::from(a) * f64::from(be) * d as f64;
                }
            }
            out[b * m + r] = sum as f32;
        }
    }
    Ok(())
}

/// Exact integer dots `n − 2·popcount(W_i[r] XOR X_j[b])`, layout `[batch][row][i][j]`.
pub fn popcount_dots(w: BitPlanesRef<'_>, x: BitPlanesRef<'_>) -> Result<Vec<i32>> {
    check_shapes(w.n(), x.n())?;
    let mut dots = Vec::with_capacity(x.rows() * w.rows() * w.bits() * x.bits());
    for b in 0..x.rows() {
        for r in 0..w.rows() {
            for i in 0..w.bits() {
                for j in 0..x.bits() {
                    dots.push(dot_of(w.n(), w.plane(r, i), x.plane(b, j)));
                }
            }
        }
    }
    Ok(dots)
}
