//! Shared helpers for the popcount tests (`mod popcount_common;` in each test file).
#![allow(dead_code)]

use burn_amq_kernels::BitPlanes;
use burn_amq_kernels::pack::words_for;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A seeded generator (tests must be reproducible).
pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

/// Mask of the valid bits of the last word of an `n`-bit plane.
pub fn tail_mask(n: usize) -> u64 {
    match n % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

/// Random planes with zero padding and α in [-1, 2); with `zero_rows`, every third row has
/// all-zero α.
pub fn random_planes(
    rng: &mut SmallRng,
    rows: usize,
    n: usize,
    bits: usize,
    zero_rows: bool,
) -> BitPlanes {
    let words = words_for(n);
    let mask = tail_mask(n);
    let planes: Vec<u64> = (0..rows * bits * words)
        .map(|i| {
            let w: u64 = rng.random();
            if i % words == words - 1 { w & mask } else { w }
        })
        .collect();
    let alphas: Vec<f32> = (0..rows * bits)
        .map(|i| {
            if zero_rows && (i / bits) % 3 == 1 {
                0.0
            } else {
                rng.random_range(-1.0f32..2.0)
            }
        })
        .collect();
    BitPlanes::from_parts(rows, n, bits, alphas, planes).unwrap()
}

/// Per-output scale `Σᵢⱼ |α β dot|` from reference dots `[batch][row][i][j]`.
pub fn scales(w: &BitPlanes, x: &BitPlanes, dots: &[i32]) -> Vec<f64> {
    let (m, kw, ka) = (w.rows(), w.bits(), x.bits());
    let mut s = vec![0.0f64; x.rows() * m];
    for b in 0..x.rows() {
        for r in 0..m {
            for i in 0..kw {
                for j in 0..ka {
                    let d = dots[((b * m + r) * kw + i) * ka + j];
                    s[b * m + r] += (f64::from(w.row_alphas(r)[i])
                        * f64::from(x.row_alphas(b)[j])
                        * f64::from(d))
                    .abs();
                }
            }
        }
    }
    s
}

/// Asserts `got` is within `1e-5 · scale` of `want`, element by element.
pub fn assert_close(got: &[f32], want: &[f32], scale: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (idx, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let err = (f64::from(g) - f64::from(w)).abs();
        assert!(
            err <= 1e-5 * s + 1e-30,
            "{what}: out[{idx}] = {g}, reference {w} (scale {s}, error {err})"
        );
    }
}
