//! Host-side code tables for the nearest-code (BST) assignment of the Alternating method.
//!
//! For one row with coefficients `α₁ ≥ … ≥ αₖ ≥ 0` the `2ᵏ` codes are `Σᵢ ±αᵢ`. Sorting them
//! ascending turns "nearest code" into "how many midpoints between consecutive codes are ≤ x",
//! which a depth-`k` binary search answers. The tables map a sorted position back to its bits.

/// Code tables of many rows, flattened row-major for upload as tensors.
pub(super) struct CodeTables {
    /// `[rows, 2ᵏ − 1]`: midpoints between consecutive sorted codes, ascending per row.
    pub midpoints: Vec<f32>,
    /// `k` tables of `[rows, 2ᵏ]`: the sign (±1) of plane `i` for each sorted code position.
    pub plane_signs: Vec<Vec<f32>>,
}

/// Builds the tables for `alphas` (`[rows, k]` row-major, each row sorted descending, ≥ 0).
pub(super) fn code_tables(alphas: &[f64], rows: usize, k: usize) -> CodeTables {
    let codes = 1usize << k;
    let mut midpoints = Vec::with_capacity(rows * (codes - 1));
    let mut plane_signs = vec![Vec::with_capacity(rows * codes); k];
    // Code pattern p uses +αᵢ where bit i of p is set and −αᵢ elsewhere.
    let mut sorted: Vec<(f64, usize)> = Vec::with_capacity(codes);
    for row in alphas.chunks_exact(k).take(rows) {
        sorted.clear();
        sorted.extend((0..codes).map(|pattern| {
            let value = row
                .iter()
                .enumerate()
                .map(|(i, &a)| if pattern >> i & 1 == 1 { a } else { -a })
                .sum::<f64>();
            (value, pattern)
        }));
        // Stable sort: equal codes (a zero coefficient) keep pattern order, so runs reproduce.
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        midpoints.extend(sorted.windows(2).map(|w| (0.5 * (w[0].0 + w[1].0)) as f32));
        for (i, signs) in plane_signs.iter_mut().enumerate() {
            signs.extend(
                sorted
                    .iter()
                    .map(|&(_, pattern)| if pattern >> i & 1 == 1 { 1.0f32 } else { -1.0 }),
            );
        }
    }
    CodeTables {
        midpoints,
        plane_signs,
    }
}

#[cfg(test)]
mod tests {
    use super::code_tables;

    #[test]
    fn two_bit_tables_match_hand_computation() {
        // α = [2, 1]: codes ±2 ± 1, sorted -3, -1, 1, 3.
        let t = code_tables(&[2.0, 1.0], 1, 2);
        assert_eq!(t.midpoints, vec![-2.0, 0.0, 2.0]);
        // Sorted codes: -3 = (-2,-1), -1 = (-2,+1), 1 = (+2,-1), 3 = (+2,+1).
        assert_eq!(t.plane_signs[0], vec![-1.0, -1.0, 1.0, 1.0]);
        assert_eq!(t.plane_signs[1], vec![-1.0, 1.0, -1.0, 1.0]);
    }
}
