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
//! The whole workflow: convert a trained `burn::nn::Lstm`, fine-tune (any training loop; in
//! Burn's `Learner`, clip the shadow weights in `TrainStep::optimize`), pack for the CPU and
//! stream one step at a time, save and load:
//!
//! ```
//! use burn::nn::LstmConfig;
//! use burn::prelude::*;
//! use burn_amq::nn::{QuantLstm, QuantizationConfig};
//! use burn_amq::packed::{PackedLstm, PackedLstmState};
//! use burn_amq::clip_shadow_weights;
//!
//! let device = Device::flex();
//! let trained = LstmConfig::new(8, 16, true).init(&device); // stands in for a trained model
//! let quant = QuantizationConfig::new()
//!     .with_weight_bits(Some(2))
//!     .with_act_bits(Some(2)); // alternating quantization, T = 2 (the default method)
//! let lstm = QuantLstm::from_lstm(&trained, &quant)?;
//! // ... fine-tune `lstm`; after each optimizer step:
//! let lstm = clip_shadow_weights(lstm);
//!
//! let mut packed: PackedLstm = lstm.pack()?;
//! let mut state = PackedLstmState::zeros(1, 16);
//! for t in 0..3 {
//!     let x_t = vec![0.1 * t as f32; 8];
//!     packed.step(&x_t, &mut state)?; // no allocation after the first step
//! }
//! println!("{}", packed.size_report());
//!
//! let path = std::env::temp_dir().join("burn-amq-doc-lstm.amq");
//! packed.save(&path)?;
//! let loaded = PackedLstm::load(&path)?;
//! assert_eq!(loaded.size_report(), packed.size_report());
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), burn_amq::Error>(())
//! ```
//!
//! [`packed`] turns trained layers into CPU inference layers that run on bit planes:
//! popcount products when activations are quantized, exact masked sums (or, opt-in, lookup
//! tables) when only weights are.
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
