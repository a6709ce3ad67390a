//! Bit-plane layouts.
//!
//! A k-bit binary-coded row `w ≈ Σᵢ αᵢ bᵢ` (`bᵢ ∈ {−1,+1}ⁿ`) is stored as `k` *planes* of
//! `words_for(n)` little-endian `u64` words each, plus its `k` coefficients `α`.
//!
//! Bit convention, used by every layout and kernel in this crate:
//! - bit `j % 64` of word `j / 64` of plane `i` is **1 when `bᵢⱼ = +1`** and 0 when `bᵢⱼ = −1`;
//! - `sign(0) = +1`;
//! - bits past `n` in the last word (padding) are always **0**, so that
//!   `dot(a, b) = n − 2·popcount(a XOR b)` holds with the *true* length `n`.
//!
//! Layouts:
//! - [`BitPlanes`] / [`BitPlanesRef`]: row-major `[row][plane][word]`, α as `[row][plane]`.
//!   This is what the quantizers produce, what activations use, and what files store.
//! - [`interleaved::InterleavedPlanes`]: the layout the popcount kernels want (rows in blocks
//!   of 8 with one row per `u64` lane).

mod bitplanes;
pub mod interleaved;

pub use bitplanes::{BitPlanes, BitPlanesMut, BitPlanesRef, words_for};
pub use interleaved::{InterleavedPlanes, ROW_BLOCK};
