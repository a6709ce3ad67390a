//! Quantizers: a real vector `w ∈ Rⁿ` to `k` binary planes and coefficients,
//! `w ≈ Σᵢ αᵢ bᵢ`, `bᵢ ∈ {−1,+1}ⁿ` (bit convention of [`crate::pack`]).
//!
//! Methods ([`Method`]):
//! - **Greedy** (Guo et al.): `bᵢ = sign(r)`, `αᵢ = mean|r|`, `r ← r − αᵢbᵢ`.
//! - **Refined**: greedy, refitting `α₁..αⱼ` by least squares after every step (planes fixed).
//! - **Alternating** (Xu et al. 2018, the default with `T = 2`): greedy, then `T` cycles of
//!   (α by least squares, B by a binary search tree over the sorted codes). The loop ends on
//!   a B update, as in the paper: the returned α is least-squares optimal for the previous
//!   planes, the returned planes are the nearest codes for the returned α.
//! - **Alternating-refit** (this crate's addition): alternating, then α refitted by least
//!   squares on the final planes. Ending on a B update leaves the reconstruction shrunk; the
//!   refit removes that bias, never raises the error, and gave a lower direct-quantization
//!   perplexity on PTB (see `examples/README.md`).
//! - **Uniform** and **Balanced**: the paper's baselines, written as BCQ codes with
//!   `αᵢ = s·2^{k−i}/(2ᵏ−1)` (see [`Method`] and the module docs of each).
//!
//! Every result is in canonical form: each row's α is non-negative and sorted descending,
//! padding bits are 0. Zero rows are valid (all α = 0, all planes +1, dequantizing to exactly
//! 0); a constant row `c` is reproduced exactly by the search methods
//! (`α₁ = |c|`, the others 0), and up to f32 rounding of the fixed α form by uniform and
//! balanced. `sign(0) = +1`; an entry exactly between two codes takes the upper one.
//!
//! Entry points: [`quantize`] (one vector), [`quantize_rows`] (a matrix row by row, in
//! parallel) and [`ActivationQuantizer`] (allocation-free, for activations at every time
//! step). All run one core on the kernels of [`Tier::active`](crate::tier::Tier::active)
//! (AVX-512 or portable; the two are bit-identical), so they agree exactly on equal input.

mod activation;
mod alternating;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod balanced;
mod bst;
mod engine;
mod greedy;
mod kernel;
mod lsq;
mod method;
mod portable;
mod refined;
mod uniform;

#[cfg(test)]
mod tests;

pub use activation::ActivationQuantizer;
pub use engine::MAX_ABS_INPUT;
pub use method::{DEFAULT_CYCLES, Method};

use crate::error::{AmqError, Result, check_bits, check_len};
use crate::pack::{BitPlanes, words_for};
use crate::par::{self, Par, SharedMut};
use engine::{Workspace, check_values};
use kernel::Kern;

/// A quantized matrix (or vector: one row) with its per-row error statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    codes: BitPlanes,
    /// `‖w_r − ŵ_r‖²` per row, in f64, with `ŵ` as [`BitPlanes::dequantize`] computes it.
    row_err: Vec<f64>,
    /// `‖w_r‖²` per row, in f64.
    row_norm: Vec<f64>,
}

impl Quantized {
    /// The codes (α and planes).
    pub fn codes(&self) -> &BitPlanes {
        &self.codes
    }

    /// The codes, by value.
    pub fn into_codes(self) -> BitPlanes {
        self.codes
    }

    /// The reconstruction `Ŵ = Σᵢ diag(αᵢ) Bᵢ`, row-major `[rows][n]`.
    pub fn dequantize(&self) -> Vec<f32> {
        self.codes.dequantize()
    }

    /// `‖W − Ŵ‖²` summed over all rows.
    pub fn sq_error(&self) -> f64 {
        self.row_err.iter().sum()
    }

    /// `‖w_row − ŵ_row‖²` (panics if `row >= rows`).
    pub fn row_sq_error(&self, row: usize) -> f64 {
        self.row_err[row]
    }

    /// `‖W − Ŵ‖² / ‖W‖²` over the whole matrix; `0.0` when `W == 0`.
    pub fn relative_error(&self) -> f64 {
        let norm: f64 = self.row_norm.iter().sum();
        if norm > 0.0 {
            self.sq_error() / norm
        } else {
            0.0
        }
    }
}

/// Quantizes one vector (a single row) with `bits` planes.
///
/// Errors: empty `w` → [`AmqError::Empty`]; `bits ∉ 1..=8` → [`AmqError::BitsOutOfRange`];
/// NaN or infinity → [`AmqError::NonFinite`]; magnitude above [`MAX_ABS_INPUT`] →
/// [`AmqError::InvalidArgument`].
pub fn quantize(w: &[f32], bits: usize, method: Method) -> Result<Quantized> {
    quantize_rows(w, 1, w.len(), bits, method, Par::Seq)
}

/// Quantizes the row-major matrix `w` (`[rows][n]`) row by row, each row with its own `bits`
/// coefficients. Rows run in parallel on up to `par` threads; the result does not depend on
/// the thread count.
///
/// Errors: as [`quantize`]; `rows == 0` or `n == 0` → [`AmqError::Empty`];
/// `w.len() != rows · n` → [`AmqError::LengthMismatch`] (or [`AmqError::ShapeMismatch`] when
/// `rows · n` overflows).
pub fn quantize_rows(
    w: &[f32],
    rows: usize,
    n: usize,
    bits: usize,
    method: Method,
    par: Par,
) -> Result<Quantized> {
    check_bits(bits)?;
    if rows == 0 || n == 0 || w.is_empty() {
        return Err(AmqError::Empty { what: "weights" });
    }
    let Some(total) = rows.checked_mul(n) else {
        return Err(AmqError::ShapeMismatch(format!(
            "{rows} rows of {n} values overflow usize"
        )));
    };
    check_len("weights", total, w.len())?;
    check_values("weights", w)?;
    let words = words_for(n);
    let kern = Kern::active();
    let mut alphas = vec![0.0f32; rows * bits];
    let mut planes = vec![0u64; rows * bits * words];
    let mut row_err = vec![0.0f64; rows];
    let mut row_norm = vec![0.0f64; rows];

    let threads = par.threads_for(rows.saturating_mul(n).saturating_mul(bits), rows);
    // A few tasks per thread so that a descheduled worker costs little (see `par`).
    let tasks = if threads <= 1 {
        1
    } else {
        (threads * 4).min(rows)
    };
    let chunk = rows.div_ceil(tasks);
    // Task t owns rows [t·chunk, (t+1)·chunk) of every output, disjoint from all others.
    let out = (
        SharedMut(alphas.as_mut_ptr()),
        SharedMut(planes.as_mut_ptr()),
        SharedMut(row_err.as_mut_ptr()),
        SharedMut(row_norm.as_mut_ptr()),
    );
    par::run(threads, tasks, &|t| {
        // Borrow the whole tuple: capturing the raw-pointer fields one by one (edition 2021
        // disjoint captures) would bypass `SharedMut`'s `Sync`.
        let out = &out;
        let first = (t * chunk).min(rows);
        let last = ((t + 1) * chunk).min(rows);
        let count = last - first;
        // SAFETY: the four buffers have `rows · bits`, `rows · bits · words`, `rows` and
        // `rows` elements and outlive `par::run`; task `t` alone touches rows
        // `first..last` (in bounds, disjoint between tasks), so these slices never alias.
        let (a_blk, p_blk, e_blk, n_blk) = unsafe {
            (
                std::slice::from_raw_parts_mut(out.0.0.add(first * bits), count * bits),
                std::slice::from_raw_parts_mut(
                    out.1.0.add(first * bits * words),
                    count * bits * words,
                ),
                std::slice::from_raw_parts_mut(out.2.0.add(first), count),
                std::slice::from_raw_parts_mut(out.3.0.add(first), count),
            )
        };
        if count == 0 {
            return;
        }
        let mut work = Workspace::new();
        for (i, ((a, p), (e, nn))) in a_blk
            .chunks_mut(bits)
            .zip(p_blk.chunks_mut(bits * words))
            .zip(e_blk.iter_mut().zip(n_blk.iter_mut()))
            .enumerate()
        {
            let row = &w[(first + i) * n..(first + i + 1) * n];
            work.quantize(kern, method, row, a, p, words);
            (*e, *nn) = row_stats(row, a, p, words);
        }
    });

    let codes = BitPlanes::from_parts(rows, n, bits, alphas, planes)?;
    Ok(Quantized {
        codes,
        row_err,
        row_norm,
    })
}

/// `(‖w − ŵ‖², ‖w‖²)` in f64, with `ŵ` summed in f32 in plane order exactly as
/// [`BitPlanes::dequantize`] does, so the reported error matches the dequantized values.
fn row_stats(w: &[f32], alphas: &[f32], planes: &[u64], words: usize) -> (f64, f64) {
    let (mut err, mut norm) = (0.0f64, 0.0f64);
    for (j, &x) in w.iter().enumerate() {
        let mut v = 0.0f32;
        for (i, &a) in alphas.iter().enumerate() {
            let bit = (planes[i * words + j / 64] >> (j % 64)) & 1;
            v += if bit == 1 { a } else { -a };
        }
        let d = f64::from(x) - f64::from(v);
        err += d * d;
        norm += f64::from(x) * f64::from(x);
    }
    (err, norm)
}
