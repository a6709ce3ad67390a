//! Alternating multi-bit quantization (Xu et al., ICLR 2018) for Burn.
//!
//! A weight row or activation vector `w ∈ Rⁿ` is approximated by `Σᵢ₌₁ᵏ αᵢ bᵢ` with `k` real
//! coefficients and `k` sign vectors `bᵢ ∈ {−1, +1}ⁿ`, found greedily, by refined greedy or by
//! the paper's alternating minimisation ([`quantizer`]). Quantization-aware training uses
//! full-precision shadow weights, fake quantization in the forward pass and the
//! straight-through estimator in the backward pass ([`mod@ste`]).
//!
//! The layers in [`nn`] mirror `burn::nn::{Linear, Embedding, Lstm, Gru}` (same forward
//! signatures, batch-first) with fused, output-unit-major gate matrices; [`convert`] turns
//! trained `burn::nn` layers into them.
//!
//! ```
//! use burn::prelude::*;
//! use burn_amq::nn::QuantLstmConfig;
//!
//! let device = Device::flex();
//! let lstm = QuantLstmConfig::new(4, 3, true)
//!     .with_weight_bits(Some(2))
//!     .with_act_bits(Some(2))
//!     .init(&device)?;
//! let x = Tensor::<3>::random([2, 5, 4], burn::tensor::Distribution::Default, &device);
//! let (hidden_states, _state) = lstm.forward(x, None);
//! assert_eq!(hidden_states.dims(), [2, 5, 3]);
//! # Ok::<(), burn_amq::Error>(())
//! ```
//!
//! [`packed`] turns trained layers into CPU inference layers that run on bit planes
//! (popcount products when activations are quantized, lookup tables when only weights are).
//! Packed layers and whole packed models ([`packed::PackedModel`]) are saved as versioned,
//! CRC-32 checksummed files: bit planes and f32 biases plus string metadata in the container
//! of `burn-amq-kernels` (readable without Burn), with every key and tensor validated on load
//! and a typed error, never a panic, for truncated, corrupted, wrong-version or wrong-shape
//! files. [`packed::file`] documents the layout; `size_report()` on a layer or model gives
//! bytes, bits per weight and the ratio to f32 ([`packed::SizeReport`]).
//!
//! Features: `ndarray` and `wgpu` pass through to Burn's backends of the same name; the
//! default build has Burn's Flex CPU backend and autodiff.

pub mod backend;
pub mod convert;
mod error;
pub mod nn;
pub mod packed;
pub mod quantizer;
pub mod ste;

pub use error::{Error, Result};
pub use quantizer::{QuantMethod, Quantizer, fake_quantize_rows, fake_quantize_vectors};
pub use ste::{ClipWeights, clip_shadow_weights, quantize_ste, ste};
