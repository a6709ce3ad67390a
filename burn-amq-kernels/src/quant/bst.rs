//! The B step: nearest code by a binary search tree over the sorted code values.
//!
//! For fixed α the 2ᵏ code values `Σᵢ ±αᵢ` are sorted once; every entry then descends a
//! depth-k tree of midpoints (`k` comparisons instead of 2ᵏ distance evaluations) to the
//! index of its nearest code, and a table built while sorting maps that index back to the
//! bit pattern.
//!
//! **Tie rule** (used by every implementation and by the brute-force reference in tests):
//! an entry exactly on a midpoint goes to the *upper* code (`x >= mid` descends right), which
//! extends `sign(0) = +1`; equal code values are ordered by bit pattern, so among equal codes
//! the descent ends on the largest pattern (all α = 0 gives all planes +1).

/// Largest number of codes (2^MAX_BITS).
pub(crate) const MAX_CODES: usize = 1 << crate::MAX_BITS;

/// Sorted codes, their midpoints and the index → bit-pattern table for one α.
#[derive(Debug, Clone)]
pub(crate) struct CodeTable {
    /// Number of bits `k`.
    pub(crate) bits: usize,
    /// Code values ascending (`2^k` used).
    pub(crate) values: [f32; MAX_CODES],
    /// `mids[t] = (values[t] + values[t+1]) / 2` (`2^k − 1` used, the rest `f32::MAX`).
    pub(crate) mids: [f32; MAX_CODES],
    /// Bit pattern of `values[t]`: bit `i` set means plane `i` is +1.
    pub(crate) patterns: [u32; MAX_CODES],
}

impl Default for CodeTable {
    fn default() -> Self {
        Self {
            bits: 1,
            values: [0.0; MAX_CODES],
            mids: [f32::MAX; MAX_CODES],
            patterns: [0; MAX_CODES],
        }
    }
}

/// The code value of bit pattern `p` (bit `i` set: `+αᵢ`), summed in plane order.
#[inline]
pub(crate) fn code_value(alphas: &[f32], p: usize) -> f32 {
    let mut v = 0.0f32;
    for (i, &a) in alphas.iter().enumerate() {
        v += if (p >> i) & 1 == 1 { a } else { -a };
    }
    v
}

impl CodeTable {
    /// Rebuilds the table for `alphas` (`1 ≤ alphas.len() ≤ MAX_BITS`). Allocation-free.
    pub(crate) fn build(&mut self, alphas: &[f32]) {
        let k = alphas.len();
        let len = 1usize << k;
        self.bits = k;
        let mut order = [0u16; MAX_CODES];
        let mut raw = [0.0f32; MAX_CODES];
        for p in 0..len {
            raw[p] = code_value(alphas, p);
            order[p] = p as u16;
        }
        // Ascending by value, ties by pattern: the deterministic order the tie rule relies on.
        order[..len]
            .sort_unstable_by(|&a, &b| raw[a as usize].total_cmp(&raw[b as usize]).then(a.cmp(&b)));
        for (t, &p) in order[..len].iter().enumerate() {
            self.values[t] = raw[p as usize];
            self.patterns[t] = u32::from(p);
        }
        for t in 0..len - 1 {
            // Halves first: no overflow for large codes.
            self.mids[t] = 0.5 * self.values[t] + 0.5 * self.values[t + 1];
        }
        self.mids[len - 1..].fill(f32::MAX);
    }

    /// Index (into `values`/`patterns`) of the nearest code to `x`: `k` comparisons.
    #[inline]
    pub(crate) fn descend(&self, x: f32) -> usize {
        let mut idx = 0usize;
        let mut half = 1usize << (self.bits - 1);
        while half > 0 {
            // Branch-free: on random data each comparison is a coin flip for the predictor.
            idx += half * usize::from(x >= self.mids[idx + half - 1]);
            half >>= 1;
        }
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Brute-force nearest code, the same tie rule: among equal distances the larger value,
    /// among equal values the larger pattern. Returns (value, pattern).
    fn brute(alphas: &[f32], x: f32) -> (f32, u32) {
        let mut best = (f32::NEG_INFINITY, 0u32, f32::INFINITY);
        for p in 0..1usize << alphas.len() {
            let v = code_value(alphas, p);
            let d = (x - v).abs();
            let better = d < best.2 || (d == best.2 && (v, p as u32) > (best.0, best.1));
            if better {
                best = (v, p as u32, d);
            }
        }
        (best.0, best.1)
    }

    #[test]
    fn bst_matches_brute_force_k1_to_6() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut table = CodeTable::default();
        for k in 1..=6 {
            for _ in 0..40 {
                let mut alphas: Vec<f32> = (0..k).map(|_| rng.random_range(0.0..2.0)).collect();
                alphas.sort_by(|a, b| b.total_cmp(a));
                table.build(&alphas);
                for _ in 0..200 {
                    let x: f32 = rng.random_range(-6.0..6.0);
                    let idx = table.descend(x);
                    let (bv, bp) = brute(&alphas, x);
                    let v = table.values[idx];
                    if v != bv {
                        // Only a float-rounding disagreement right at a decision boundary is
                        // acceptable: both codes must then be (almost) equally near.
                        let (d, bd) = ((x - v).abs(), (x - bv).abs());
                        assert!((d - bd).abs() <= 1e-5 * (1.0 + x.abs()), "k={k} x={x}");
                    } else {
                        // Same value: the same pattern unless several patterns share it.
                        let dup = (0..1usize << k)
                            .filter(|&p| code_value(&alphas, p) == v)
                            .count();
                        assert!(dup > 1 || table.patterns[idx] == bp, "k={k} x={x}");
                    }
                    assert_eq!(code_value(&alphas, table.patterns[idx] as usize), v);
                }
            }
        }
    }

    #[test]
    fn ties_go_up() {
        let mut table = CodeTable::default();
        table.build(&[1.0, 0.5]);
        // Codes -1.5, -0.5, 0.5, 1.5; midpoints -1, 0, 1.
        assert_eq!(table.values[table.descend(0.0)], 0.5);
        assert_eq!(table.values[table.descend(1.0)], 1.5);
        assert_eq!(table.values[table.descend(-1.0)], -0.5);
        table.build(&[0.0, 0.0, 0.0]);
        assert_eq!(table.patterns[table.descend(0.0)], 0b111);
    }

    #[test]
    fn exact_codes_map_to_themselves() {
        let mut table = CodeTable::default();
        let alphas = [1.3f32, 0.6, 0.2, 0.05];
        table.build(&alphas);
        for p in 0..16 {
            let v = code_value(&alphas, p);
            assert_eq!(table.values[table.descend(v)], v);
        }
    }
}
