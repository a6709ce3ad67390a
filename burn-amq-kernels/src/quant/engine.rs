//! The one core every entry point runs: scratch buffers, input checks, method dispatch and
//! the canonical form of the result (α ≥ 0, sorted descending, planes permuted along).

use super::alternating::{Start, alternating};
use super::balanced::balanced;
use super::bst::CodeTable;
use super::greedy::greedy;
use super::kernel::Kern;
use super::lsq::Normal;
use super::method::Method;
use super::refined::refined;
use super::uniform::uniform;
use crate::MAX_BITS;
use crate::error::{AmqError, Result, check_finite};

/// Largest accepted input magnitude. Code values are sums of up to 8 coefficients of about
/// this size and squared errors are formed from them; this bound keeps every intermediate
/// finite, so the quantizers can never produce NaN or infinity.
pub const MAX_ABS_INPUT: f32 = 1e30;

/// Mask of the valid bits in the last word of a plane of `n` bits.
#[inline]
pub(crate) const fn tail_mask(n: usize) -> u64 {
    match n % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

/// Sets every real bit of every plane (all +1), padding left 0.
pub(crate) fn set_all_ones(planes: &mut [u64], words: usize, n: usize) {
    let mask = tail_mask(n);
    for plane in planes.chunks_exact_mut(words) {
        plane.fill(u64::MAX);
        plane[words - 1] = mask;
    }
}

/// Finite and at most [`MAX_ABS_INPUT`] in magnitude (false for NaN).
#[inline]
fn supported(v: f32) -> bool {
    v.abs() <= MAX_ABS_INPUT
}

/// Checks that every value is finite and at most [`MAX_ABS_INPUT`] in magnitude.
///
/// The common all-good case is a branch-free scan that the compiler vectorises; only when it
/// fails is the offending index searched for.
pub(crate) fn check_values(what: &'static str, x: &[f32]) -> Result<()> {
    let mut bad = false;
    for chunk in x.chunks(256) {
        bad |= chunk.iter().fold(false, |b, &v| b | !supported(v));
    }
    if !bad {
        return Ok(());
    }
    check_finite(what, x)?;
    let index = x.iter().position(|&v| !supported(v)).unwrap_or(0);
    Err(AmqError::InvalidArgument(format!(
        "{what}[{index}] = {:e} exceeds the supported magnitude {MAX_ABS_INPUT:e}",
        x.get(index).copied().unwrap_or(0.0)
    )))
}

/// Scratch for quantizing vectors: allocated once, reused for every vector (of any length:
/// no buffer scales with `n`).
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    normal: Normal,
    table: Box<CodeTable>,
    /// Sort buffer of the balanced method (stays empty for the others).
    order: Vec<u32>,
    /// The second start's planes of [`Method::AlternatingMultiStart`] (empty for the others).
    spare_planes: Vec<u64>,
    /// The second start's α of [`Method::AlternatingMultiStart`].
    spare_alphas: [f32; MAX_BITS],
}

impl Workspace {
    /// Fresh scratch.
    pub(crate) fn new() -> Self {
        Self {
            normal: Normal::default(),
            table: Box::default(),
            order: Vec::new(),
            spare_planes: Vec::new(),
            spare_alphas: [0.0; MAX_BITS],
        }
    }

    /// Quantizes one validated vector `w` (length `n`, finite) with `alphas.len()` bits into
    /// `alphas` and `planes` (`[plane][word]`, `words = words_for(n)`), in canonical form.
    ///
    /// Allocation-free except for [`Method::Balanced`] (its sort buffer) and
    /// [`Method::AlternatingMultiStart`] (the second start's planes), both grown once.
    pub(crate) fn quantize(
        &mut self,
        kern: Kern,
        method: Method,
        w: &[f32],
        alphas: &mut [f32],
        planes: &mut [u64],
        words: usize,
    ) {
        let k = alphas.len();
        let searches = method.is_search();
        // Exits at the first differing entry, so it costs nothing on ordinary input.
        if searches && w.iter().all(|&v| v == w[0]) {
            constant_row(w.len(), w[0], alphas, planes, words);
            return;
        }
        match method {
            Method::Greedy => greedy(kern, w, alphas, planes, words, &mut self.normal.c[..k]),
            Method::Refined => refined(kern, w, alphas, planes, words, &mut self.normal),
            Method::Alternating { cycles } | Method::AlternatingRefit { cycles } => alternating(
                kern,
                w,
                Start::Greedy,
                cycles,
                matches!(method, Method::AlternatingRefit { .. }),
                alphas,
                planes,
                words,
                &mut self.normal,
                &mut self.table,
            ),
            Method::AlternatingMultiStart { cycles } => {
                self.best_of_two_starts(kern, w, cycles, alphas, planes, words);
            }
            Method::Uniform => uniform(w, alphas, planes, words),
            Method::Balanced => balanced(w, alphas, planes, words, &mut self.order),
        }
        canonicalize(w.len(), alphas, planes, words);
    }

    /// [`Method::AlternatingMultiStart`]: alternating from the greedy start into
    /// `alphas`/`planes`, from the uniform start into the spare buffers, and the spare result
    /// copied over when its squared error is lower. The errors are compared through
    /// [`Normal::objective`] (`‖w − Bα‖² − ‖w‖²` from `BᵀB` and `Bᵀw`, which the last code
    /// update left in `normal.c`): popcounts over the planes instead of another pass over
    /// the data. The caller canonicalises.
    fn best_of_two_starts(
        &mut self,
        kern: Kern,
        w: &[f32],
        cycles: usize,
        alphas: &mut [f32],
        planes: &mut [u64],
        words: usize,
    ) {
        let n = w.len();
        let k = alphas.len();
        let (normal, table) = (&mut self.normal, &mut self.table);
        alternating(
            kern,
            w,
            Start::Greedy,
            cycles,
            false,
            alphas,
            planes,
            words,
            normal,
            table,
        );
        normal.set_gram(kern, n, planes, words, k);
        let from_greedy = normal.objective(alphas);
        self.spare_planes.resize(k * words, 0);
        let (spare_a, spare_p) = (&mut self.spare_alphas[..k], &mut self.spare_planes[..]);
        alternating(
            kern,
            w,
            Start::Uniform,
            cycles,
            false,
            spare_a,
            spare_p,
            words,
            normal,
            table,
        );
        normal.set_gram(kern, n, spare_p, words, k);
        if normal.objective(spare_a) < from_greedy {
            alphas.copy_from_slice(spare_a);
            planes[..k * words].copy_from_slice(spare_p);
        }
    }
}

/// The exact code of a constant row `c` (including the zero row): `α = (|c|, 0, …, 0)`,
/// plane 1 = sign(c) (so all +1 for `c = 0`), the other planes all +1. This is what
/// greedy, refined and alternating converge to on such a row; writing it directly makes it
/// exact whatever the rounding of the sums.
fn constant_row(n: usize, c: f32, alphas: &mut [f32], planes: &mut [u64], words: usize) {
    alphas.fill(0.0);
    alphas[0] = c.abs();
    set_all_ones(&mut planes[..alphas.len() * words], words, n);
    if c < 0.0 {
        planes[..words].fill(0);
    }
}

/// Makes α non-negative (a negative αᵢ flips plane i) and sorts α descending, permuting the
/// planes along (a deterministic selection sort; the order among equal α is arbitrary but
/// fixed, and irrelevant to the represented values).
pub(crate) fn canonicalize(n: usize, alphas: &mut [f32], planes: &mut [u64], words: usize) {
    let mask = tail_mask(n);
    for (i, a) in alphas.iter_mut().enumerate() {
        if *a < 0.0 {
            *a = -*a;
            let plane = &mut planes[i * words..(i + 1) * words];
            for word in plane.iter_mut() {
                *word = !*word;
            }
            plane[words - 1] &= mask;
        } else if *a == 0.0 {
            // −0.0 → +0.0.
            *a = 0.0;
        }
    }
    // Selection sort: k ≤ 8, no allocation, and a plane swap only when needed.
    let k = alphas.len();
    for i in 0..k {
        let mut best = i;
        for j in i + 1..k {
            if alphas[j] > alphas[best] {
                best = j;
            }
        }
        if best != i {
            alphas.swap(i, best);
            let (head, tail) = planes.split_at_mut(best * words);
            head[i * words..(i + 1) * words].swap_with_slice(&mut tail[..words]);
        }
    }
}
