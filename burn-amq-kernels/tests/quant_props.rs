//! Property tests: for any finite input the searches stay finite and ordered.

use burn_amq_kernels::quant::{Method, quantize};
use proptest::prelude::*;

fn vectors() -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        prop::collection::vec(-100.0f32..100.0, 1..300),
        // Few distinct values: collinear planes and exact ties.
        prop::collection::vec(
            prop::sample::select(vec![-2.0f32, -0.5, 0.0, 0.5, 3.0]),
            1..80
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn alternating_never_worse_than_greedy(w in vectors(), bits in 1usize..=6) {
        // Alternating starts from greedy and neither half-step can increase the error.
        // (Refined has no such guarantee: its later planes differ from greedy's.)
        let g = quantize(&w, bits, Method::Greedy).unwrap();
        let scale = g.sq_error() * 1e-5 + 1e-20;
        for m in [Method::Refined, Method::alternating(), Method::Alternating { cycles: 5 }] {
            let q = quantize(&w, bits, m).unwrap();
            prop_assert!(q.sq_error().is_finite());
            if m != Method::Refined {
                prop_assert!(
                    q.sq_error() <= g.sq_error() + scale,
                    "{} {} > {}", m, q.sq_error(), g.sq_error()
                );
            }
            let a = q.codes().alphas();
            prop_assert!(a.iter().all(|&x| x >= 0.0) && a.windows(2).all(|p| p[0] >= p[1]));
        }
    }

    #[test]
    fn baselines_are_finite_and_canonical(w in vectors(), bits in 1usize..=8) {
        for m in [Method::Uniform, Method::Balanced] {
            let q = quantize(&w, bits, m).unwrap();
            prop_assert!(q.sq_error().is_finite());
            let norm: f64 = w.iter().map(|&x| f64::from(x).powi(2)).sum();
            // Never worse than quantizing to zero by more than the level rounding allows.
            prop_assert!(q.sq_error() <= 4.0 * norm + 1e-20);
            let a = q.codes().alphas();
            prop_assert!(a.iter().all(|&x| x >= 0.0) && a.windows(2).all(|p| p[0] >= p[1]));
        }
    }
}
