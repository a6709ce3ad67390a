//! Packed CPU inference: trained quantized layers repacked once into the layouts of the
//! `burn-amq-kernels` products ([`PackedLinear`], [`PackedLstm`], [`PackedGru`],
//! [`PackedEmbedding`], built by each layer's `pack()`).
//!
//! `pack()` on a layer quantizes its shadow weights once, with the layer's own weight
//! quantizer on the kernels (the very kernel the Flex forward pass calls, so the codes are the
//! ones the fake-quantized forward uses), and keeps biases in f32. At inference:
//!
//! - **Quantized activations** (`act_bits` set): every input vector is quantized online with
//!   the layer's method and bits ([`ActivationQuantizer`](burn_amq_kernels::quant::ActivationQuantizer))
//!   and the product runs on bit planes with XOR + popcount. The result equals the layer's
//!   fake-quantized forward up to float rounding.
//! - **Weights only**: the product of the bit-plane weights and the f32 input runs, by
//!   default, on masked sums ([`WeightsOnlyProduct::Exact`]): equal to the fake-quantized
//!   forward up to f32 rounding. `pack_with` and [`WeightsOnlyProduct::Lookup`] select the
//!   lookup-table product instead ([`lut_matmul`](burn_amq_kernels::lut::lut_matmul)), whose
//!   int8 tables leave an error of up to
//!   [`error_bound`](burn_amq_kernels::lut::error_bound) (≈ 0.9 % relative RMS on random data).
//!
//! Every packed layer and whole [`PackedModel`]s (named layers plus user metadata) are saved
//! to and loaded from a versioned, checksummed binary file that programs without Burn can
//! read ([`file`](mod@file) describes the layout); `size_report()` gives their stored size against f32
//! ([`SizeReport`]).
//!
//! Scratch buffers live in the packed layer: after the first call with a given batch size,
//! calls with that (or a smaller) batch allocate nothing. Layers with full-precision weights
//! cannot be packed ([`Error::NotQuantized`]).

mod embedding;
pub mod file;
mod gru;
mod linear;
mod lstm;
mod matrix;
mod size;

/// The threading setting of the packed layers' `set_par` (re-exported from the kernels).
pub use burn_amq_kernels::Par;
pub use embedding::PackedEmbedding;
pub use file::{LayerKind, PackedLayer, PackedModel, TypedLayer};
pub use gru::PackedGru;
pub use linear::PackedLinear;
pub use lstm::{PackedLstm, PackedLstmState};
pub use size::{ModelSizeReport, SizeReport};

use burn::prelude::*;

/// The product a packed layer runs when its inputs stay in f32 (weights-only quantization).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightsOnlyProduct {
    /// Masked sums over the f32 input
    /// ([`masked_matmul`](burn_amq_kernels::masked::masked_matmul)): equal to the layer's
    /// fake-quantized forward up to f32 rounding. The default.
    #[default]
    Exact,
    /// Lookup tables over the f32 input ([`lut_matmul`](burn_amq_kernels::lut::lut_matmul)):
    /// faster, but its int8 tables leave an error of up to
    /// [`error_bound`](burn_amq_kernels::lut::error_bound) (≈ 0.9 % relative RMS on random
    /// data).
    Lookup,
}

/// Choices `pack_with` makes beyond what the layer's quantization settings fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackOptions {
    /// The product for matrices whose inputs are not quantized.
    pub weights_only: WeightsOnlyProduct,
}

impl PackOptions {
    /// Options with `weights_only` as the weights-only product.
    pub fn with_weights_only(mut self, weights_only: WeightsOnlyProduct) -> Self {
        self.weights_only = weights_only;
        self
    }
}

use crate::error::{Error, Result};

/// Host f32 values of a tensor (any float dtype, converted).
pub(crate) fn host_values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().iter::<f32>().collect()
}

/// Checks a caller buffer length.
pub(crate) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}

/// Rejects a zero batch.
pub(crate) fn check_batch(batch: usize) -> Result<()> {
    if batch == 0 {
        Err(Error::ZeroDimension { what: "batch" })
    } else {
        Ok(())
    }
}

/// Grows `v` to at least `len` (never shrinks it) and returns its first `len` entries: the
/// packed layers' scratch buffers, which allocate only when a larger batch first arrives.
pub(crate) fn scratch<T: Copy + Default>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        v.resize(len, T::default());
    }
    &mut v[..len]
}
