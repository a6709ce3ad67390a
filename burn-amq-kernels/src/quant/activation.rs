//! On-line quantization of activations (the LSTM hidden state at every time step).

use super::engine::{Workspace, check_values};
use super::kernel::Kern;
use super::method::Method;
use crate::error::{AmqError, Result, check_bits, check_len};
use crate::pack::{BitPlanesMut, words_for};
use crate::tier::Tier;

/// Allocation-free quantizer for vectors of a fixed length `n` into `bits` planes.
///
/// All scratch is allocated in [`new`](Self::new); [`quantize_into`](Self::quantize_into)
/// only reads the input and writes the caller's buffers. It runs the same core as
/// [`quantize`](super::quantize) / [`quantize_rows`](super::quantize_rows), on the kernels of
/// [`Tier::active`] (AVX-512 when available, honouring `AMQ_KERNEL_TIER`), so both give
/// identical α and codes for the same vector.
///
/// Only the methods defined as BCQ searches are accepted: [`Method::Greedy`],
/// [`Method::Refined`], [`Method::Alternating`], [`Method::AlternatingRefit`] and
/// [`Method::AlternatingMultiStart`] (the paper quantizes activations with alternating,
/// `T = 2`).
#[derive(Debug, Clone)]
pub struct ActivationQuantizer {
    n: usize,
    bits: usize,
    method: Method,
    kern: Kern,
    work: Workspace,
}

impl ActivationQuantizer {
    /// A quantizer for vectors of length `n` with `bits` planes, on the active tier.
    ///
    /// Errors: `n == 0` → [`AmqError::Empty`]; `bits ∉ 1..=8` → [`AmqError::BitsOutOfRange`];
    /// [`Method::Uniform`] / [`Method::Balanced`] → [`AmqError::InvalidArgument`].
    pub fn new(n: usize, bits: usize, method: Method) -> Result<Self> {
        Self::build(n, bits, method, Kern::active())
    }

    /// Like [`new`](Self::new) but on an explicit tier (for comparing tiers). Tiers without
    /// dedicated quantizer kernels (AVX2, POPCNT, NEON) run the portable code.
    ///
    /// Errors as [`new`](Self::new), plus [`AmqError::TierUnavailable`] when this machine
    /// cannot run `tier`.
    pub fn with_tier(n: usize, bits: usize, method: Method, tier: Tier) -> Result<Self> {
        Self::build(n, bits, method, Kern::for_tier(tier.require()?))
    }

    fn build(n: usize, bits: usize, method: Method, kern: Kern) -> Result<Self> {
        check_bits(bits)?;
        if n == 0 {
            return Err(AmqError::Empty {
                what: "activation vector",
            });
        }
        if !method.is_search() {
            return Err(AmqError::InvalidArgument(format!(
                "the activation quantizer supports greedy, refined and the alternating \
                 methods, not {}",
                method.name()
            )));
        }
        Ok(Self {
            n,
            bits,
            method,
            kern,
            work: Workspace::new(),
        })
    }

    /// Vector length.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of planes.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Quantizes `x` (length `n`) into `alphas` (length `bits`, written descending and
    /// non-negative) and `planes` (`bits · words_for(n)` words, layout `[plane][word]`).
    ///
    /// Errors (nothing is written then): wrong lengths → [`AmqError::LengthMismatch`]; NaN or
    /// infinity → [`AmqError::NonFinite`]; magnitude above
    /// [`MAX_ABS_INPUT`](super::MAX_ABS_INPUT) → [`AmqError::InvalidArgument`].
    pub fn quantize_into(
        &mut self,
        x: &[f32],
        alphas: &mut [f32],
        planes: &mut [u64],
    ) -> Result<()> {
        let words = words_for(self.n);
        check_len("activation vector", self.n, x.len())?;
        check_len("alphas", self.bits, alphas.len())?;
        check_len("planes", self.bits * words, planes.len())?;
        check_values("activation vector", x)?;
        self.work
            .quantize(self.kern, self.method, x, alphas, planes, words);
        Ok(())
    }

    /// Quantizes the rows of `x` (`[out.rows()][n]`) into `out`, one row at a time.
    ///
    /// Errors (nothing is written then): `out` not `n` long or not `bits` deep →
    /// [`AmqError::ShapeMismatch`]; otherwise as [`quantize_into`](Self::quantize_into).
    pub fn quantize_batch_into(&mut self, x: &[f32], out: &mut BitPlanesMut<'_>) -> Result<()> {
        if out.n() != self.n || out.bits() != self.bits {
            return Err(AmqError::ShapeMismatch(format!(
                "output planes are {} long with {} bits, the quantizer has n = {}, bits = {}",
                out.n(),
                out.bits(),
                self.n,
                self.bits
            )));
        }
        let words = words_for(self.n);
        check_len("activation batch", out.rows() * self.n, x.len())?;
        check_values("activation batch", x)?;
        for (row, xr) in x.chunks_exact(self.n).enumerate() {
            let (alphas, planes) = out.row_mut(row);
            self.work
                .quantize(self.kern, self.method, xr, alphas, planes, words);
        }
        Ok(())
    }
}
