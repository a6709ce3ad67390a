//! Packed [`QuantEmbedding`].

use burn_amq_kernels::quant::{Method, quantize_rows};
use burn_amq_kernels::{BitPlanes, Par};

use super::{check_len, host_values};
use crate::error::{Error, Result};
use crate::nn::QuantEmbedding;

/// A [`QuantEmbedding`] packed for inference: the table's bit planes and coefficients, each
/// looked-up row dequantized on lookup (the same values the layer's forward returns).
#[derive(Debug, Clone)]
pub struct PackedEmbedding {
    /// `[n_embedding, d_model]`.
    pub(super) table: BitPlanes,
}

impl QuantEmbedding {
    /// Packs the table: every row quantized once with the layer's weight quantizer.
    ///
    /// Errors: [`Error::NotQuantized`] for a full-precision table, [`Error::Kernel`] when the
    /// table cannot be quantized (e.g. it holds a NaN).
    pub fn pack(&self) -> Result<PackedEmbedding> {
        let quantizer = self.weight_quantizer().ok_or(Error::NotQuantized {
            layer: "QuantEmbedding",
        })?;
        let [rows, d_model] = self.weight.dims();
        let table = quantize_rows(
            &host_values(&self.weight.val()),
            rows,
            d_model,
            quantizer.bits(),
            Method::from(quantizer.method()),
            Par::Auto,
        )?
        .into_codes();
        Ok(PackedEmbedding { table })
    }
}

impl PackedEmbedding {
    /// Rows in the table.
    pub fn n_embedding(&self) -> usize {
        self.table.rows()
    }

    /// Vector size.
    pub fn d_model(&self) -> usize {
        self.table.n()
    }

    /// Writes the dequantized rows of `indices` to `out` (`[indices.len()][d_model]`).
    /// Allocates nothing.
    ///
    /// Errors (nothing is written then): [`Error::LengthMismatch`] for a wrong `out`
    /// length, [`Error::IndexOutOfRange`] for an index past the table.
    pub fn lookup(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        let d = self.d_model();
        check_len("out", indices.len().saturating_mul(d), out.len())?;
        let rows = self.n_embedding();
        if let Some(&index) = indices.iter().find(|&&i| i >= rows) {
            return Err(Error::IndexOutOfRange { index, rows });
        }
        let table = self.table.as_ref();
        for (&index, dst) in indices.iter().zip(out.chunks_exact_mut(d)) {
            table.dequantize_row_into(index, dst)?;
        }
        Ok(())
    }
}
