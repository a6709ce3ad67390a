//! Row-wise multi-bit binary-coded quantization (the paper's Greedy, Refined and Alternating
//! methods) of Burn tensors.
//!
//! Every row `w ∈ Rⁿ` of a `[rows, n]` tensor is approximated by `Σᵢ αᵢ bᵢ` with `k` real
//! coefficients `αᵢ` (one set per row) and `k` sign vectors `bᵢ ∈ {−1, +1}ⁿ`. The functions here
//! return the *dequantized* tensor `Σᵢ αᵢ bᵢ` ("fake quantization"), which is what the training
//! forward pass and the reference for packed inference need.
//!
//! Conventions, shared with `burn-amq-kernels`:
//! - `sign(0) = +1`: a zero residual entry gets the bit `+1`.
//! - Code assignment (Alternating): each entry goes to the nearest of the `2ᵏ` codes `Σ ±αᵢ`;
//!   an entry exactly on the midpoint between two codes goes to the *larger* code.
//! - Least-squares refits that are rank deficient (two sign planes equal up to sign, as for a
//!   constant row) give the dependent planes coefficient 0 instead of dividing by zero, so a
//!   zero row quantizes to exactly 0 and a constant row to itself.
//!
//! The computation is applied to detached values (see [`mod@crate::ste`] for the gradient). It is
//! written with Burn tensor ops so it runs on every backend; a CPU kernel fast path for Flex
//! plugs in at [`Quantizer::quantize_rows`] (the single dispatch point) without changing callers.

mod codebook;
mod least_squares;
pub(crate) mod tensor_ops;

use burn::config::Config;
use burn::prelude::*;
use burn_amq_kernels::quant::Method;

use crate::error as amq;

/// Largest supported bit width. `2⁸` codes per row keep the code tables small.
pub const MAX_BITS: usize = 8;

/// How the coefficients and sign planes of a row are found.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum QuantMethod {
    /// Greedy residual binarization: `bᵢ = sign(r)`, `αᵢ = mean|r|`, `r ← r − αᵢ bᵢ`.
    Greedy,
    /// Greedy, but after each new plane all coefficients so far are refit by least squares on
    /// the fixed planes. Planes are never revisited.
    Refined,
    /// Greedy initialisation, then `cycles` rounds of (least-squares `α` on fixed planes, sorted
    /// by magnitude; nearest-code plane assignment for fixed `α`). The paper uses 2 cycles.
    Alternating {
        /// Number of alternating cycles `T`; 0 is plain greedy.
        cycles: usize,
    },
    /// `Alternating`, then one more least-squares refit of `α` on the final planes (this
    /// crate's addition to the paper's algorithm). The paper's loop ends on a plane update, which
    /// leaves the reconstruction systematically shrunk; the refit removes that bias and never
    /// increases the error. On the PTB LSTM it gave a lower direct-quantization perplexity
    /// than both `Alternating` and `Refined` (see `examples/README.md`).
    AlternatingRefit {
        /// Number of alternating cycles `T` before the refit.
        cycles: usize,
    },
    /// `Alternating` from two starts per row, the paper's greedy one and the uniform levels on
    /// `[−max|w|, max|w|]`, keeping the lower-error result (this crate's addition; twice the
    /// cost of `Alternating`, never a higher error). The uniform start lets a row with a few
    /// large entries, like a recurrent matrix with a large diagonal, give them their own
    /// level, which the greedy start never does.
    AlternatingMultiStart {
        /// Number of alternating cycles `T` after each start.
        cycles: usize,
    },
}

impl Default for QuantMethod {
    fn default() -> Self {
        Self::Alternating { cycles: 2 }
    }
}

impl QuantMethod {
    /// The method's lowercase name without parameters (`"alternating"`, `"greedy"`, ...),
    /// the same names `burn_amq_kernels::Method` parses.
    pub fn name(&self) -> &'static str {
        Method::from(*self).name()
    }
}

impl From<QuantMethod> for Method {
    fn from(method: QuantMethod) -> Self {
        match method {
            QuantMethod::Greedy => Method::Greedy,
            QuantMethod::Refined => Method::Refined,
            QuantMethod::Alternating { cycles } => Method::Alternating { cycles },
            QuantMethod::AlternatingRefit { cycles } => Method::AlternatingRefit { cycles },
            QuantMethod::AlternatingMultiStart { cycles } => {
                Method::AlternatingMultiStart { cycles }
            }
        }
    }
}

/// The kernels' search-free methods (uniform, balanced) have no trainable counterpart: they
/// are for direct quantization only.
impl TryFrom<Method> for QuantMethod {
    type Error = amq::Error;

    fn try_from(method: Method) -> amq::Result<Self> {
        match method {
            Method::Greedy => Ok(QuantMethod::Greedy),
            Method::Refined => Ok(QuantMethod::Refined),
            Method::Alternating { cycles } => Ok(QuantMethod::Alternating { cycles }),
            Method::AlternatingRefit { cycles } => Ok(QuantMethod::AlternatingRefit { cycles }),
            Method::AlternatingMultiStart { cycles } => {
                Ok(QuantMethod::AlternatingMultiStart { cycles })
            }
            other => Err(amq::Error::UntrainableMethod {
                method: other.name(),
            }),
        }
    }
}

/// A validated quantizer setting: a bit width in `1..=8` and a method.
///
/// Layers keep one per quantization point, so their forward passes cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantizer {
    bits: usize,
    method: QuantMethod,
}

impl Quantizer {
    /// Checks `bits` (must be in `1..=8`) and builds the quantizer.
    pub fn new(bits: usize, method: QuantMethod) -> amq::Result<Self> {
        Self::named("bits", bits, method)
    }

    /// Like [`Quantizer::new`], naming the offending setting in the error.
    pub(crate) fn named(what: &'static str, bits: usize, method: QuantMethod) -> amq::Result<Self> {
        if (1..=MAX_BITS).contains(&bits) {
            Ok(Self { bits, method })
        } else {
            Err(amq::Error::InvalidBits { what, bits })
        }
    }

    /// Builds an optional quantizer: `None` bits means full precision.
    pub(crate) fn optional(
        what: &'static str,
        bits: Option<usize>,
        method: QuantMethod,
    ) -> amq::Result<Option<Self>> {
        bits.map(|bits| Self::named(what, bits, method)).transpose()
    }

    /// Number of bits `k`.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The method.
    pub fn method(&self) -> QuantMethod {
        self.method
    }

    /// Dequantized `Σᵢ αᵢ bᵢ` of every row of `x` (`[rows, n]`).
    ///
    /// The result carries no gradient: it is computed on the value of `x` and, when `x` lives
    /// on an autodiff device, returned there as a constant.
    pub fn quantize_rows(&self, x: Tensor<2>) -> Tensor<2> {
        let on_autodiff = x.is_autodiff();
        // Dispatch point: f32 tensors on Flex run the burn-amq-kernels quantizer through the
        // backend extension; every other backend and dtype runs the tensor-op version.
        let x = x.inner();
        let [rows, n] = x.dims();
        let q = if rows == 0 || n == 0 {
            x
        } else {
            match crate::backend::quantize_rows(x.clone(), self.bits, self.method) {
                Some(q) => q,
                None => tensor_ops::quantize_rows(x, self.bits, self.method),
            }
        };
        if on_autodiff { q.autodiff() } else { q }
    }

    /// Dequantized quantization of a `D`-dimensional tensor along its last dimension (every
    /// vector `x[.., :]` is one row). No gradient, like [`Quantizer::quantize_rows`].
    pub fn quantize_last_dim<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dims = x.dims();
        let n = dims[D - 1];
        let rows = dims[..D - 1].iter().product::<usize>();
        if rows == 0 || n == 0 {
            // Nothing to quantize; an empty tensor is its own quantization.
            return x.detach();
        }
        self.quantize_rows(x.reshape([rows, n])).reshape(dims)
    }
}

/// Dequantized row-wise quantization of a weight-like `[rows, n]` tensor: one coefficient
/// vector per row (per output unit when rows are output units).
///
/// Fails with [`Error::InvalidBits`](crate::Error::InvalidBits) unless `bits` is in `1..=8`.
pub fn fake_quantize_rows(
    x: Tensor<2>,
    bits: usize,
    method: QuantMethod,
) -> amq::Result<Tensor<2>> {
    Ok(Quantizer::new(bits, method)?.quantize_rows(x))
}

/// Dequantized quantization of a batch of activation vectors `[batch, n]`: each row is one
/// sample's vector and gets its own coefficients (the paper quantizes `h_t` as a whole vector).
///
/// The same procedure as [`fake_quantize_rows`]; the separate name states the intent at call
/// sites. Fails with [`Error::InvalidBits`](crate::Error::InvalidBits) unless `bits` is in `1..=8`.
pub fn fake_quantize_vectors(
    x: Tensor<2>,
    bits: usize,
    method: QuantMethod,
) -> amq::Result<Tensor<2>> {
    fake_quantize_rows(x, bits, method)
}
