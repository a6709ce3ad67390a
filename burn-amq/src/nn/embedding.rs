//! Quantized embedding table.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::prelude::*;
use burn::tensor::Int;
use burn::tensor::module::embedding;

use super::effective_weight;
use crate::error as amq;
use crate::quantizer::{QuantMethod, Quantizer};
use crate::ste::maybe_quantize_ste;

/// Configuration of a [`QuantEmbedding`].
#[derive(Config, Debug)]
pub struct QuantEmbeddingConfig {
    /// Number of rows (vocabulary size).
    pub n_embedding: usize,
    /// Width of a row.
    pub d_model: usize,
    /// Bits per weight (`1..=8`), per row; `None` keeps full precision.
    #[config(default = "Some(2)")]
    pub weight_bits: Option<usize>,
    /// Quantization procedure.
    #[config(default = "QuantMethod::Alternating { cycles: 2 }")]
    pub method: QuantMethod,
    /// Initializer of the table (the same default as `burn::nn::Embedding`).
    #[config(default = "Initializer::Normal { mean: 0.0, std: 1.0 }")]
    pub initializer: Initializer,
}

impl QuantEmbeddingConfig {
    /// Builds the layer; fails on zero dimensions or bit widths outside `1..=8`.
    pub fn init(&self, device: &Device) -> amq::Result<QuantEmbedding> {
        if self.n_embedding == 0 {
            return Err(amq::Error::ZeroDimension {
                what: "n_embedding",
            });
        }
        if self.d_model == 0 {
            return Err(amq::Error::ZeroDimension { what: "d_model" });
        }
        let quantizer = Quantizer::optional("weight_bits", self.weight_bits, self.method)?;
        let weight = self
            .initializer
            .init([self.n_embedding, self.d_model], device);
        Ok(QuantEmbedding::from_parts(weight, quantizer))
    }
}

/// An embedding table quantized row by row: every looked-up vector is a quantized row, so
/// layers fed by it need not quantize their input again.
#[derive(Module, Debug)]
pub struct QuantEmbedding {
    /// Shadow table `[n_embedding, d_model]`, one coefficient vector per row.
    pub weight: Param<Tensor<2>>,
    #[module(skip)]
    weight_quantizer: Option<Quantizer>,
}

impl QuantEmbedding {
    pub(crate) fn from_parts(
        weight: Param<Tensor<2>>,
        weight_quantizer: Option<Quantizer>,
    ) -> Self {
        Self {
            weight,
            weight_quantizer,
        }
    }

    /// Looks up `indices` (`[batch, seq]`) → `[batch, seq, d_model]`, like
    /// `burn::nn::Embedding::forward`.
    pub fn forward(&self, indices: Tensor<2, Int>) -> Tensor<3> {
        // Quantization is row-wise, so quantizing only the looked-up rows gives the same values
        // as quantizing the whole table, at a fraction of the cost. The STE gradient flows
        // into the rows that were used.
        let rows = embedding(self.weight.val(), indices);
        maybe_quantize_ste(self.weight_quantizer.as_ref(), rows)
    }

    /// The table the forward pass reads from, `[n_embedding, d_model]`, without gradient.
    pub fn effective_weight(&self) -> Tensor<2> {
        effective_weight(self.weight_quantizer.as_ref(), &self.weight)
    }

    /// The weight quantizer (`None` = full precision).
    pub fn weight_quantizer(&self) -> Option<Quantizer> {
        self.weight_quantizer
    }
}
