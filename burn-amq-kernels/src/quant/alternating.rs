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

use super::bst::CodeTable;
use super::greedy::greedy;
use super::kernel::Kern;
use super::lsq::Normal;

/// Everything the alternating method needs besides its input and output.
pub(crate) struct AltScratch<'a> {
    /// Residual buffer (length n) for the greedy initialisation.
    pub(crate) r: &'a mut [f32],
    /// Normal equations.
    pub(crate) normal: &'a mut Normal,
    /// Sorted code table.
    pub(crate) table: &'a mut CodeTable,
}

/// Alternating quantization with `cycles` cycles into `alphas`/`planes`.
pub(crate) fn alternating(
    kern: Kern,
    w: &[f32],
    cycles: usize,
    alphas: &mut [f32],
    planes: &mut [u64],
    words: usize,
    s: AltScratch<'_>,
) {
    let n = w.len();
    let k = alphas.len();
    greedy(kern, w, alphas, planes, words, s.r);
    for _ in 0..cycles {
        s.normal.set_gram(n, planes, words, k);
        kern.plane_dots(w, planes, words, &mut s.normal.c[..k]);
        s.normal.refit(n, alphas);
        // Signs and order of α only relabel the planes, which are recomputed right below.
        for a in alphas.iter_mut() {
            *a = a.abs();
        }
        alphas.sort_unstable_by(|a, b| b.total_cmp(a));
        s.table.build(alphas);
        kern.bst_assign(w, s.table, planes, words);
    }
}
