//! The α step: least squares `min_α ‖w − Bα‖²` for fixed bit planes `B ∈ {±1}^{n×k}`.
//!
//! `BᵀB` is exact integer arithmetic on the planes (`n − 2·popcount(bₐ ⊕ b_b)`), `Bᵀw`
//! comes from the kernels in f64, and the `k × k` normal equations are solved in f64 by an
//! LDLᵀ factorisation that *drops* dependent planes instead of failing: collinear planes are
//! common (constant or zero rows, few distinct values, `n < k`), and their α is simply set
//! to 0, which gives the least-squares optimum over the remaining planes, the same minimum.
//! LDLᵀ rather than Cholesky because it has no square roots: a single plane gets
//! `α = (bᵀw)/n` exactly, which keeps constant rows exact.

use super::kernel::Kern;
use crate::MAX_BITS;

/// A pivot below `DROP_TOL · n` marks a plane as (numerically) in the span of the previous
/// ones. For ±1 planes the pivot is the squared distance of the plane to that span, so
/// independent planes of length ≤ 10⁸ sit far above this.
const DROP_TOL: f64 = 1e-9;

/// Gram matrix and right-hand side of the normal equations, for up to [`MAX_BITS`] planes.
#[derive(Debug, Clone)]
pub(crate) struct Normal {
    /// `BᵀB`, row-major `MAX_BITS × MAX_BITS` (only the leading `k × k` block is used).
    pub(crate) g: [f64; MAX_BITS * MAX_BITS],
    /// `Bᵀw`.
    pub(crate) c: [f64; MAX_BITS],
}

impl Default for Normal {
    fn default() -> Self {
        Self {
            g: [0.0; MAX_BITS * MAX_BITS],
            c: [0.0; MAX_BITS],
        }
    }
}

/// `bₐ · b_b` for two ±1 planes of true length `n` (padding bits must be zero in both).
pub(crate) fn plane_dot(n: usize, a: &[u64], b: &[u64]) -> f64 {
    let differ: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from((x ^ y).count_ones()))
        .sum();
    n as f64 - 2.0 * differ as f64
}

impl Normal {
    /// Fills row and column `j` of `BᵀB` from planes `0..=j` (`planes` is `[plane][word]`).
    pub(crate) fn set_gram_column(
        &mut self,
        kern: Kern,
        n: usize,
        planes: &[u64],
        words: usize,
        j: usize,
    ) {
        let pj = &planes[j * words..(j + 1) * words];
        for i in 0..=j {
            let d = kern.plane_dot(n, &planes[i * words..(i + 1) * words], pj);
            self.g[i * MAX_BITS + j] = d;
            self.g[j * MAX_BITS + i] = d;
        }
    }

    /// Fills the whole `k × k` Gram matrix.
    pub(crate) fn set_gram(
        &mut self,
        kern: Kern,
        n: usize,
        planes: &[u64],
        words: usize,
        k: usize,
    ) {
        for j in 0..k {
            self.set_gram_column(kern, n, planes, words, j);
        }
    }

    /// `αᵀ(BᵀB)α − 2αᵀBᵀw`, which is `‖w − Bα‖² − ‖w‖²`: compares two α on the same B
    /// without another pass over the data.
    pub(crate) fn objective(&self, alpha: &[f32]) -> f64 {
        let k = alpha.len();
        let mut q = 0.0;
        for i in 0..k {
            let ai = f64::from(alpha[i]);
            let mut gi = 0.0;
            for (j, &aj) in alpha.iter().enumerate() {
                gi += self.g[i * MAX_BITS + j] * f64::from(aj);
            }
            q += ai * (gi - 2.0 * self.c[i]);
        }
        q
    }

    /// Least-squares α for the first `k` planes, written to `out` (rounded to f32).
    ///
    /// Dependent planes get α = 0. The result is always finite for finite inputs.
    pub(crate) fn solve(&self, n: usize, k: usize, out: &mut [f32]) {
        let tol = DROP_TOL * n as f64;
        // L is unit lower triangular (row-major, strictly-lower part used), D diagonal.
        let mut l = [0.0f64; MAX_BITS * MAX_BITS];
        let mut d = [0.0f64; MAX_BITS];
        let mut dropped = [false; MAX_BITS];
        for j in 0..k {
            let mut dj = self.g[j * MAX_BITS + j];
            for m in 0..j {
                dj -= l[j * MAX_BITS + m] * l[j * MAX_BITS + m] * d[m];
            }
            if dj.is_nan() || dj <= tol {
                // In the span of the earlier planes (or NaN, which cannot happen for finite
                // input but must not propagate): leave this plane out.
                dropped[j] = true;
                continue;
            }
            d[j] = dj;
            for i in j + 1..k {
                let mut s = self.g[i * MAX_BITS + j];
                for m in 0..j {
                    s -= l[i * MAX_BITS + m] * l[j * MAX_BITS + m] * d[m];
                }
                l[i * MAX_BITS + j] = s / dj;
            }
        }
        // Forward substitution L y = c (dropped columns of L are zero, so they do not feed
        // later rows), then D z = y, then back substitution Lᵀ α = z.
        let mut y = [0.0f64; MAX_BITS];
        for j in 0..k {
            let mut s = self.c[j];
            for m in 0..j {
                s -= l[j * MAX_BITS + m] * y[m];
            }
            y[j] = if dropped[j] { 0.0 } else { s };
        }
        let mut a = [0.0f64; MAX_BITS];
        for j in (0..k).rev() {
            if dropped[j] {
                continue;
            }
            let mut s = y[j] / d[j];
            for m in j + 1..k {
                s -= l[m * MAX_BITS + j] * a[m];
            }
            a[j] = s;
        }
        for (o, &v) in out[..k].iter_mut().zip(&a) {
            let v = v as f32;
            *o = if v.is_finite() { v } else { 0.0 };
        }
    }

    /// Replaces `alpha` by the least-squares solution unless that is (numerically) worse than
    /// the current `alpha` on the same planes: the iterate never gets worse.
    pub(crate) fn refit(&self, n: usize, alpha: &mut [f32]) {
        let k = alpha.len();
        let mut new = [0.0f32; MAX_BITS];
        self.solve(n, k, &mut new);
        let q_new = self.objective(&new[..k]);
        let q_old = self.objective(alpha);
        if q_new <= q_old {
            alpha.copy_from_slice(&new[..k]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal_from(n: usize, cols: &[Vec<f64>], w: &[f64]) -> Normal {
        let mut ne = Normal::default();
        for (i, a) in cols.iter().enumerate() {
            for (j, b) in cols.iter().enumerate() {
                ne.g[i * MAX_BITS + j] = a.iter().zip(b).map(|(x, y)| x * y).sum();
            }
            ne.c[i] = a.iter().zip(w).map(|(x, y)| x * y).sum();
        }
        assert_eq!(cols[0].len(), n);
        ne
    }

    #[test]
    fn solves_well_conditioned_system() {
        let b1 = vec![1.0, 1.0, -1.0, -1.0];
        let b2 = vec![1.0, -1.0, 1.0, -1.0];
        // w = 3 b1 + 0.5 b2 exactly.
        let w: Vec<f64> = b1.iter().zip(&b2).map(|(a, b)| 3.0 * a + 0.5 * b).collect();
        let ne = normal_from(4, &[b1, b2], &w);
        let mut a = [0.0f32; 2];
        ne.solve(4, 2, &mut a);
        assert_eq!(a, [3.0, 0.5]);
    }

    #[test]
    fn drops_collinear_planes() {
        let b1 = vec![1.0; 5];
        let b2 = vec![-1.0; 5];
        let b3 = vec![1.0, -1.0, 1.0, 1.0, 1.0];
        let w = vec![0.7, 0.7, 0.7, 0.7, 0.7];
        let ne = normal_from(5, &[b1, b2, b3], &w);
        let mut a = [9.0f32; 3];
        ne.solve(5, 3, &mut a);
        assert_eq!(a[..2], [0.7, 0.0]);
        assert!(a[2].abs() < 1e-12, "{a:?}");
        assert!(ne.objective(&a) <= ne.objective(&[0.5, 0.1, 0.1]));
    }

    #[test]
    fn refit_never_increases_objective() {
        let b1 = vec![1.0, 1.0, -1.0];
        let b2 = vec![1.0, -1.0, 1.0];
        let w = vec![2.0, 0.5, -1.0];
        let ne = normal_from(3, &[b1, b2], &w);
        let mut a = [1.0f32, 0.2];
        let before = ne.objective(&a);
        ne.refit(3, &mut a);
        assert!(ne.objective(&a) <= before);
    }

    #[test]
    fn plane_dot_counts_agreements() {
        // n = 3: planes [+,-,+] and [-,-,+] agree on 2 of 3 -> dot 1.
        assert_eq!(plane_dot(3, &[0b101], &[0b100]), 1.0);
        assert_eq!(plane_dot(3, &[0b101], &[0b101]), 3.0);
    }
}
