//! The oracle: each weight row dequantized in f64, dotted with `x` in f64.
//!
//! Slow on purpose (one pass over the bits per row, no blocking); every tier is tested
//! against it.

use crate::error::{AmqError, Result, check_finite, check_len};
use crate::pack::BitPlanesRef;

/// `out[b·m + r] = Σⱼ (Σᵢ αᵢ[r]·sᵢⱼ[r]) · x[b][j]` with `sᵢⱼ = ±1`, every product and sum in
/// f64, rounded to f32 once.
///
/// Errors: as [`super::masked_matmul`] ([`AmqError::Empty`] for `batch == 0`,
/// [`AmqError::LengthMismatch`] for wrong `x` or `out` lengths, [`AmqError::NonFinite`] for a
/// non-finite `x`).
pub fn masked_matmul(w: BitPlanesRef<'_>, x: &[f32], batch: usize, out: &mut [f32]) -> Result<()> {
    let (m, n) = (w.rows(), w.n());
    if batch == 0 {
        return Err(AmqError::Empty { what: "batch" });
    }
    check_len("x", batch.saturating_mul(n), x.len())?;
    check_len("out", batch.saturating_mul(m), out.len())?;
    check_finite("x", x)?;
    let mut row = vec![0.0f64; n];
    for r in 0..m {
        row.fill(0.0);
        for (i, &a) in w.row_alphas(r).iter().enumerate() {
            let plane = w.plane(r, i);
            for (j, v) in row.iter_mut().enumerate() {
                let plus = (plane[j / 64] >> (j % 64)) & 1 == 1;
                *v += if plus { f64::from(a) } else { -f64::from(a) };
            }
        }
        for (b, xb) in x.chunks_exact(n).enumerate() {
            let dot: f64 = row.iter().zip(xb).map(|(&w, &x)| w * f64::from(x)).sum();
            out[b * m + r] = dot as f32;
        }
    }
    Ok(())
}
