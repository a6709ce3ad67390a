//! Per-row least-squares refit of the coefficients `α` for fixed sign planes, on the host.
//!
//! Each system is tiny (`k ≤ 8` unknowns): the Gram matrix `BᵀB` and right-hand side `Bᵀw`
//! are computed on the device, read back and solved here in f64.

/// Relative size below which a Cholesky pivot counts as zero (the plane is a linear combination
/// of earlier planes). Gram entries of ±1 planes are integers, so real pivots are ≥ ~4/n·n.
const PIVOT_TOLERANCE: f64 = 1e-10;

/// Minimiser of `‖w − Bα‖²` from the normal equations `G α = c` (`G = BᵀB`, `k × k`
/// row-major, symmetric positive semidefinite; `c = Bᵀw`).
///
/// Rank-deficient systems — a plane equal to a combination of earlier ones, e.g. two identical
/// planes of a constant row — are solved on the independent planes only and the dependent ones
/// get coefficient 0. That is still an exact least-squares minimiser, so nothing is ever
/// divided by zero and the reconstruction loses nothing.
pub(super) fn solve_normal_equations(g: &[f64], c: &[f64], k: usize) -> Vec<f64> {
    debug_assert_eq!(g.len(), k * k);
    debug_assert_eq!(c.len(), k);
    // Cholesky factor L (lower, row-major) restricted to the independent columns.
    let mut l = vec![0.0f64; k * k];
    let mut independent = vec![false; k];
    for j in 0..k {
        for m in (0..j).filter(|&m| independent[m]) {
            let dot: f64 = (0..m)
                .filter(|&p| independent[p])
                .map(|p| l[j * k + p] * l[m * k + p])
                .sum();
            l[j * k + m] = (g[j * k + m] - dot) / l[m * k + m];
        }
        let squared: f64 = (0..j)
            .filter(|&m| independent[m])
            .map(|m| l[j * k + m] * l[j * k + m])
            .sum();
        let pivot = g[j * k + j] - squared;
        if pivot > PIVOT_TOLERANCE * g[j * k + j] && pivot.is_finite() {
            independent[j] = true;
            l[j * k + j] = pivot.sqrt();
        }
    }
    // Forward substitution L y = c.
    let mut y = vec![0.0f64; k];
    for j in (0..k).filter(|&j| independent[j]) {
        let dot: f64 = (0..j)
            .filter(|&m| independent[m])
            .map(|m| l[j * k + m] * y[m])
            .sum();
        y[j] = (c[j] - dot) / l[j * k + j];
    }
    // Back substitution Lᵀ α = y.
    let mut alpha = vec![0.0f64; k];
    for j in (0..k).rev().filter(|&j| independent[j]) {
        let dot: f64 = (j + 1..k)
            .filter(|&m| independent[m])
            .map(|m| l[m * k + j] * alpha[m])
            .sum();
        alpha[j] = (y[j] - dot) / l[j * k + j];
    }
    alpha
}

#[cfg(test)]
mod tests {
    use super::solve_normal_equations;

    #[test]
    fn full_rank_system_is_solved() {
        // G = [[4, 2], [2, 3]], α = [1, -2] => c = [0, -4].
        let alpha = solve_normal_equations(&[4.0, 2.0, 2.0, 3.0], &[0.0, -4.0], 2);
        assert!((alpha[0] - 1.0).abs() < 1e-12 && (alpha[1] + 2.0).abs() < 1e-12);
    }

    #[test]
    fn dependent_plane_gets_zero() {
        // Two identical planes of length 4 (a constant row 0.5): G = 4·ones, c = [2, 2].
        let alpha = solve_normal_equations(&[4.0, 4.0, 4.0, 4.0], &[2.0, 2.0], 2);
        assert_eq!(alpha, vec![0.5, 0.0]);
    }

    #[test]
    fn all_zero_right_hand_side_gives_zero() {
        let alpha = solve_normal_equations(&[3.0, -3.0, -3.0, 3.0], &[0.0, 0.0], 2);
        assert_eq!(alpha, vec![0.0, 0.0]);
    }
}
