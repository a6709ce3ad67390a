//! Alternating multi-bit quantization (Xu et al. 2018, Algorithm 2).
//!
//! Greedy initialisation, then `T` cycles of
//! 1. α ← least squares on the fixed planes (never worse than the current α, see
//!    [`Normal::refit`]); signs absorbed (`|α|`) and sorted descending;
//! 2. B ← nearest code for the fixed α, by the binary search tree of [`super::bst`].
//!
//! The paper's order is kept: the loop ends on a B update, so the returned α is
//! least-squares optimal for the *previous* planes (not refitted to the returned ones), and
//! the returned planes are the exact nearest codes for the returned α. `T = 0` is greedy.
//!
//! With `final_refit` ([`Method::AlternatingRefit`](super::Method::AlternatingRefit)) one
//! more least-squares step fits α to the returned planes. The planes are then no longer
//! guaranteed to be the nearest codes of that α, but the error can only go down, and the
//! reconstruction loses the shrink that ending on a B update leaves (`⟨w, ŵ⟩ > ‖ŵ‖²`).
//!
//! [`Start::Uniform`] replaces the greedy start by the uniform levels on `[−max|w|, max|w|]`
//! and their nearest codes ([`Method::AlternatingMultiStart`](super::Method::AlternatingMultiStart)
//! runs both starts and keeps the better result).

use super::bst::CodeTable;
use super::greedy::greedy;
use super::kernel::Kern;
use super::lsq::Normal;
use super::uniform::{level_alphas, max_abs};

/// Where the alternating cycles start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Greedy residual binarisation (the paper's initialisation).
    Greedy,
    /// The uniform levels `αᵢ = max|w|·2^{k−i}/(2ᵏ − 1)` and the nearest codes for them.
    /// Unlike the greedy start it can give one large entry of a row its own level: greedy
    /// sets every α from mean residuals, which a single outlier barely moves, and the cycles
    /// that follow do not escape that (a recurrent matrix with a large diagonal keeps a
    /// relative error above 0.5 at 4 bits from the greedy start).
    Uniform,
}

/// Alternating quantization from `start` with `cycles` cycles into `alphas`/`planes`, and
/// with a final least-squares refit of `alphas` when `final_refit`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn alternating(
    kern: Kern,
    w: &[f32],
    start: Start,
    cycles: usize,
    final_refit: bool,
    alphas: &mut [f32],
    planes: &mut [u64],
    words: usize,
    normal: &mut Normal,
    table: &mut CodeTable,
) {
    let n = w.len();
    let k = alphas.len();
    // Every pass that writes planes also returns their dot products with w, so Bᵀw is
    // always ready for the next least-squares step without another pass.
    match start {
        Start::Greedy => greedy(kern, w, alphas, planes, words, &mut normal.c[..k]),
        Start::Uniform => {
            level_alphas(f64::from(max_abs(w)), alphas);
            table.build(alphas);
            kern.bst_assign(w, table, planes, words, &mut normal.c[..k]);
        }
    }
    for _ in 0..cycles {
        normal.set_gram(kern, n, planes, words, k);
        normal.refit(n, alphas);
        // Signs and order of α only relabel the planes, which are recomputed right below.
        for a in alphas.iter_mut() {
            *a = a.abs();
        }
        alphas.sort_unstable_by(|a, b| b.total_cmp(a));
        table.build(alphas);
        kern.bst_assign(w, table, planes, words, &mut normal.c[..k]);
    }
    if final_refit {
        // `bst_assign` (or `greedy`) left Bᵀw of the current planes in `normal.c`. Signs
        // and order of the refitted α are made canonical by the caller.
        normal.set_gram(kern, n, planes, words, k);
        normal.refit(n, alphas);
    }
}
