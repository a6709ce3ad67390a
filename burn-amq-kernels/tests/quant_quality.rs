//! Approximation quality on Gaussian data against the paper's numbers.

use burn_amq_kernels::quant::{Method, quantize};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// Mean relative squared error over 50 i.i.d. N(0,1) vectors of length 1024 (fixed seed).
fn mean_rel_error(method: Method, bits: usize) -> f64 {
    let mut rng = StdRng::seed_from_u64(2018);
    let draws = 50;
    let mut total = 0.0;
    for _ in 0..draws {
        let w: Vec<f32> = (0..1024).map(|_| rng.sample(StandardNormal)).collect();
        total += quantize(&w, bits, method).unwrap().relative_error();
    }
    total / draws as f64
}

#[test]
fn two_bit_errors_match_paper_numbers() {
    let cases = [
        (Method::Greedy, 0.131),
        (Method::Refined, 0.124),
        (Method::Alternating { cycles: 2 }, 0.119),
    ];
    for (m, expected) in cases {
        let e = mean_rel_error(m, 2);
        eprintln!("k=2 {m}: {e:.4} (expected {expected})");
        assert!((e - expected).abs() <= 0.006, "{m}: {e} vs {expected}");
    }
}

#[test]
fn alternating_beats_refined_beats_greedy() {
    for bits in 2..=4 {
        let g = mean_rel_error(Method::Greedy, bits);
        let r = mean_rel_error(Method::Refined, bits);
        let a = mean_rel_error(Method::alternating(), bits);
        let u = mean_rel_error(Method::Uniform, bits);
        let b = mean_rel_error(Method::Balanced, bits);
        eprintln!(
            "k={bits}: uniform {u:.4} balanced {b:.4} greedy {g:.4} refined {r:.4} \
             alternating {a:.4}"
        );
        assert!(a < r && r < g, "k={bits}: {a} {r} {g}");
        // The baselines are valid approximations, clearly better than nothing.
        assert!(u < 0.5 && b < 0.5, "k={bits}: {u} {b}");
    }
}
