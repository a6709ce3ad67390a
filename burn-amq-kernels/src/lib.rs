//! # burn-amq-kernels
//!
//! The numerical core of burn-amq, with no Burn dependency: *alternating multi-bit
//! quantization* (Xu et al., ICLR 2018) on plain slices, bit-plane packing, and packed
//! products that run on CPUs with run-time SIMD dispatch.
//!
//! A k-bit binary-coded vector is `w ≈ Σᵢ αᵢ bᵢ` with `bᵢ ∈ {−1,+1}ⁿ`. With both operands
//! coded, `Σᵢⱼ αᵢ βⱼ (n − 2·popcount(bᵢ XOR cⱼ))` is their dot product: that is what the
//! [`popcount`] kernels compute. With f32 activations, [`lut`] uses lookup tables of partial
//! sums instead (fast, ≈ 0.9 % table error), and [`masked`] sums `x` under the bit masks
//! (`Σᵢ αᵢ (2Pᵢ − S)`, exact up to f32 rounding).
//!
//! - [`quant`]: greedy, refined greedy, alternating (with the binary-search-tree code
//!   assignment), uniform and balanced quantizers, for one vector or a matrix row by row,
//!   plus an allocation-free entry point for online activation quantization.
//! - [`pack`]: the bit convention and the bit-plane layouts.
//! - [`format`](mod@format): the packed model file (named bit-plane and f32 tensors plus metadata).
//! - [`popcount`]: k_w-bit × k_a-bit products by xor + popcount.
//! - [`lut`]: k_w-bit × f32 products by lookup tables.
//! - [`masked`]: k_w-bit × f32 products by masked sums, exact up to f32 rounding.
//! - [`activation`]: vectorized sigmoid and tanh for the recurrent gates.
//! - [`tier`]: which SIMD tier runs (detected once, `AMQ_KERNEL_TIER` forces one).
//! - [`par`]: the persistent two-thread pool and the [`Par`] switch.

pub mod activation;
pub mod error;
pub mod format;
pub mod lut;
pub mod masked;
pub mod pack;
pub mod par;
pub mod popcount;
pub mod quant;
pub mod tier;

pub use error::{AmqError, Result};
pub use pack::{BitPlanes, BitPlanesMut, BitPlanesRef, words_for};
pub use par::Par;
pub use tier::Tier;

/// Largest supported number of bits (binary planes) per value.
pub const MAX_BITS: usize = 8;
