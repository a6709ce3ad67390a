//! One packed weight matrix and the product it runs.

use burn_amq_kernels::lut::{LutScratch, LutWeights, lut_matmul};
use burn_amq_kernels::masked::masked_matmul;
use burn_amq_kernels::pack::interleaved::InterleavedPlanes;
use burn_amq_kernels::popcount::popcount_matmul;
use burn_amq_kernels::quant::{ActivationQuantizer, Method, quantize_rows};
use burn_amq_kernels::{BitPlanes, BitPlanesMut, BitPlanesRef, Par, words_for};

use super::{PackOptions, WeightsOnlyProduct, check_batch, check_len, scratch};
use crate::error::Result;
use crate::quantizer::Quantizer;

/// How the product is computed.
#[derive(Debug, Clone)]
enum Product {
    /// Quantized activations: online activation quantization, then XOR + popcount.
    Popcount {
        weights: InterleavedPlanes,
        quantizer: Box<ActivationQuantizer>,
        /// `[batch][bits]` activation coefficients (grown on demand).
        alphas: Vec<f32>,
        /// `[batch][bits][words]` activation planes (grown on demand).
        planes: Vec<u64>,
    },
    /// Full-precision activations: lookup tables over the f32 input.
    Lookup {
        weights: LutWeights,
        scratch: LutScratch,
    },
    /// Full-precision activations: masked sums over the f32 input, exact up to f32 rounding
    /// (reads the row-major `codes` directly).
    Exact,
}

/// Which product a [`PackedMatrix`] runs: what rebuilding it needs besides the weight codes
/// (what a packed file stores).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ProductKind {
    /// XOR + popcount on inputs quantized online with `bits` planes by `method`.
    Popcount { bits: usize, method: Method },
    /// Weights only: lookup tables over the f32 input (int8 tables, bounded error).
    Lookup,
    /// Weights only: masked sums over the f32 input (exact up to f32 rounding).
    Exact,
}

/// A `[rows, n]` weight matrix quantized row-wise once, with its product's scratch.
#[derive(Debug, Clone)]
pub(crate) struct PackedMatrix {
    rows: usize,
    n: usize,
    codes: BitPlanes,
    product: Product,
    /// Threads the product may use.
    par: Par,
}

impl PackedMatrix {
    /// Quantizes `w` (`[rows][n]`) with `weight` and prepares the product for inputs quantized
    /// with `activation` (`None`: f32 inputs, the product `options.weights_only` picks).
    pub(crate) fn new(
        w: &[f32],
        rows: usize,
        n: usize,
        weight: Quantizer,
        activation: Option<Quantizer>,
        options: &PackOptions,
    ) -> Result<Self> {
        let codes = quantize_rows(
            w,
            rows,
            n,
            weight.bits(),
            Method::from(weight.method()),
            Par::Auto,
        )?
        .into_codes();
        let product = match activation {
            Some(a) => ProductKind::Popcount {
                bits: a.bits(),
                method: Method::from(a.method()),
            },
            None => match options.weights_only {
                WeightsOnlyProduct::Exact => ProductKind::Exact,
                WeightsOnlyProduct::Lookup => ProductKind::Lookup,
            },
        };
        Self::from_codes(codes, product)
    }

    /// Prepares the product `kind` for weight `codes` (row-major, as [`Self::new`] quantizes
    /// them); `rows` and `n` are those of `codes`.
    ///
    /// Errors: [`Error::Kernel`](crate::Error::Kernel) for an activation quantizer the
    /// kernels reject (bits outside `1..=8`, a method that is not a BCQ search).
    pub(crate) fn from_codes(codes: BitPlanes, kind: ProductKind) -> Result<Self> {
        let (rows, n) = (codes.rows(), codes.n());
        let product = match kind {
            ProductKind::Popcount { bits, method } => Product::Popcount {
                weights: InterleavedPlanes::from(&codes),
                quantizer: Box::new(ActivationQuantizer::new(n, bits, method)?),
                alphas: Vec::new(),
                planes: Vec::new(),
            },
            ProductKind::Lookup => Product::Lookup {
                weights: LutWeights::from_planes(codes.as_ref()),
                scratch: LutScratch::new(),
            },
            ProductKind::Exact => Product::Exact,
        };
        Ok(Self {
            rows,
            n,
            codes,
            product,
            par: Par::Auto,
        })
    }

    /// The product this matrix runs (the inverse of [`Self::from_codes`]'s `kind`).
    pub(crate) fn product_kind(&self) -> ProductKind {
        match &self.product {
            Product::Popcount { quantizer, .. } => ProductKind::Popcount {
                bits: quantizer.bits(),
                method: quantizer.method(),
            },
            Product::Lookup { .. } => ProductKind::Lookup,
            Product::Exact => ProductKind::Exact,
        }
    }

    /// Output rows `m`.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Input length `n`.
    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// Sets the threads the product may use (default [`Par::Auto`]).
    pub(crate) fn set_par(&mut self, par: Par) {
        self.par = par;
    }

    /// The weight codes (row-major bit planes).
    pub(crate) fn codes(&self) -> &BitPlanes {
        &self.codes
    }

    /// Whether inputs are quantized online and the product runs on popcounts.
    pub(crate) fn quantizes_input(&self) -> bool {
        matches!(self.product, Product::Popcount { .. })
    }

    /// The lookup-table weights when this matrix runs the weights-only product.
    pub(crate) fn lookup_weights(&self) -> Option<&LutWeights> {
        match &self.product {
            Product::Lookup { weights, .. } => Some(weights),
            Product::Popcount { .. } | Product::Exact => None,
        }
    }

    /// `out[b][r] = Ŵ[r] · x̂[b]` for `x` `[batch][n]`, `out` `[batch][rows]`.
    pub(crate) fn matmul(&mut self, x: &[f32], batch: usize, out: &mut [f32]) -> Result<()> {
        check_batch(batch)?;
        check_len("x", batch.saturating_mul(self.n), x.len())?;
        check_len("out", batch.saturating_mul(self.rows), out.len())?;
        match &mut self.product {
            Product::Popcount {
                weights,
                quantizer,
                alphas,
                planes,
            } => {
                let bits = quantizer.bits();
                let (na, np) = (batch * bits, batch * bits * words_for(self.n));
                let (alphas, planes) = (scratch(alphas, na), scratch(planes, np));
                let mut view = BitPlanesMut::new(batch, self.n, bits, &mut *alphas, &mut *planes)?;
                quantizer.quantize_batch_into(x, &mut view)?;
                let view = BitPlanesRef::new(batch, self.n, bits, alphas, planes)?;
                popcount_matmul(weights, view, out, self.par)?;
            }
            Product::Lookup { weights, scratch } => {
                lut_matmul(weights, x, batch, out, scratch, self.par)?;
            }
            Product::Exact => {
                masked_matmul(self.codes.as_ref(), x, batch, out, self.par)?;
            }
        }
        Ok(())
    }
}
