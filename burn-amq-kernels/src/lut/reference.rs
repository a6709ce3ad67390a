//! The exact oracle: dequantized weights times `x`, accumulated in f64.

use crate::error::{AmqError, Result, check_finite, check_len};
use crate::pack::BitPlanesRef;

/// `out[b·m + r] = Σⱼ (Σᵢ αᵢ[r]·sᵢⱼ[r]) · x[b][j]`, every product and sum in f64, rounded to
/// f32 once at the end. Slow (one pass over the bits per batch row); meant for tests.
///
/// Errors: [`AmqError::Empty`] for `batch == 0`, [`AmqError::LengthMismatch`] for wrong `x` or
/// `out` lengths, [`AmqError::NonFinite`] for a non-finite `x`.
pub fn lut_matmul_exact(
    w: BitPlanesRef<'_>,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) -> Result<()> {
    let (m, n, bits) = (w.rows(), w.n(), w.bits());
    if batch == 0 {
        return Err(AmqError::Empty { what: "batch" });
    }
    check_len("x", batch.saturating_mul(n), x.len())?;
    check_len("out", batch.saturating_mul(m), out.len())?;
    check_finite("x", x)?;
    let mut row = vec![0.0f64; n];
    for r in 0..m {
        row.fill(0.0);
        for i in 0..bits {
            let a = w.row_alphas(r)[i] as f64;
            let plane = w.plane(r, i);
            for (j, v) in row.iter_mut().enumerate() {
                *v += if (plane[j / 64] >> (j % 64)) & 1 == 1 {
                    a
                } else {
                    -a
                };
            }
        }
        for b in 0..batch {
            let xb = &x[b * n..(b + 1) * n];
            let dot: f64 = row.iter().zip(xb).map(|(&w, &x)| w * x as f64).sum();
            out[b * m + r] = dot as f32;
        }
    }
    Ok(())
}
