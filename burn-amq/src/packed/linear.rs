//! Packed [`QuantLinear`].

use burn_amq_kernels::{Par, lut};

use super::PackOptions;
use super::matrix::PackedMatrix;
use super::{check_batch, check_len, host_values};
use crate::error::{Error, Result};
use crate::nn::QuantLinear;

/// A [`QuantLinear`] packed for CPU inference: `y = x̂ Ŵᵀ + b` on bit planes.
///
/// With an input quantizer the product is XOR + popcount on quantized inputs (equal to the
/// layer's forward up to float rounding); without one it is a weights-only product on the
/// f32 input: exact masked sums by default (equal to the forward up to float rounding), or
/// lookup tables (within [`PackedLinear::lookup_error_bound`] of the exact product).
#[derive(Debug, Clone)]
pub struct PackedLinear {
    /// `[d_output, d_input]`.
    pub(super) weight: PackedMatrix,
    /// `[d_output]`.
    pub(super) bias: Option<Vec<f32>>,
}

impl QuantLinear {
    /// Packs the layer for inference: quantizes the shadow weights once with the layer's
    /// weight quantizer and keeps the bias in f32.
    ///
    /// Errors: [`Error::NotQuantized`] for full-precision weights, [`Error::Kernel`] when the
    /// weights cannot be quantized (e.g. they hold a NaN).
    pub fn pack(&self) -> Result<PackedLinear> {
        self.pack_with(&PackOptions::default())
    }

    /// [`Self::pack`] with explicit [`PackOptions`] (e.g. the faster lookup-table product
    /// for weights-only matrices).
    pub fn pack_with(&self, options: &PackOptions) -> Result<PackedLinear> {
        let quantizer = self.weight_quantizer().ok_or(Error::NotQuantized {
            layer: "QuantLinear",
        })?;
        let [d_output, d_input] = self.weight.dims();
        let w = host_values(&self.weight.val());
        let weight = PackedMatrix::new(
            &w,
            d_output,
            d_input,
            quantizer,
            self.input_quantizer(),
            options,
        )?;
        let bias = self.bias.as_ref().map(|b| host_values(&b.val()));
        Ok(PackedLinear { weight, bias })
    }
}

impl PackedLinear {
    /// Input features.
    pub fn d_input(&self) -> usize {
        self.weight.n()
    }

    /// Output features.
    pub fn d_output(&self) -> usize {
        self.weight.rows()
    }

    /// Sets how many threads the product may use: [`Par::Auto`] (the default) uses the
    /// kernels' pool above a work threshold, [`Par::Seq`] keeps every call on the calling
    /// thread (e.g. one sequence per thread in a server, or a single-thread benchmark).
    pub fn set_par(&mut self, par: Par) {
        self.weight.set_par(par);
    }

    /// Whether inputs are quantized and the product runs on popcounts (else a weights-only
    /// product on the f32 input, see [`WeightsOnlyProduct`](super::WeightsOnlyProduct)).
    pub fn quantizes_input(&self) -> bool {
        self.weight.quantizes_input()
    }

    /// The dequantized weights `[d_output, d_input]` the products use.
    pub fn dequantized_weight(&self) -> Vec<f32> {
        self.weight.codes().dequantize()
    }

    /// `out = x Ŵᵀ + b` for `x` `[batch][d_input]`, `out` `[batch][d_output]`. Allocates
    /// nothing after the first call with this (or a larger) batch.
    ///
    /// Errors: [`Error::ZeroDimension`] for `batch == 0`, [`Error::LengthMismatch`] for
    /// wrong buffer lengths, [`Error::Kernel`] for non-finite input.
    pub fn forward(&mut self, x: &[f32], batch: usize, out: &mut [f32]) -> Result<()> {
        self.weight.matmul(x, batch, out)?;
        if let Some(bias) = &self.bias {
            for row in out.chunks_exact_mut(bias.len()) {
                for (o, b) in row.iter_mut().zip(bias) {
                    *o += b;
                }
            }
        }
        Ok(())
    }

    /// For the lookup-table product ([`WeightsOnlyProduct::Lookup`](super::WeightsOnlyProduct)):
    /// per output (`[batch][d_output]`), a rigorous bound on `|forward − (x Ŵᵀ + b)|` before
    /// the bias addition's own rounding. `None` for the other products (popcount and exact
    /// masked sums are exact up to float rounding).
    pub fn lookup_error_bound(&self, x: &[f32], batch: usize) -> Result<Option<Vec<f32>>> {
        check_batch(batch)?;
        check_len("x", batch.saturating_mul(self.d_input()), x.len())?;
        match self.weight.lookup_weights() {
            Some(w) => Ok(Some(lut::error_bound(w, x, batch)?)),
            None => Ok(None),
        }
    }
}
