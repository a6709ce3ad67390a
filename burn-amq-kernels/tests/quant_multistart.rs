//! `AlternatingMultiStart`: never worse than the paper's alternating (to rounding), equal to
//! it whenever the greedy start wins, and much better on rows with a few large entries.

use burn_amq_kernels::Par;
use burn_amq_kernels::quant::{Method, quantize, quantize_rows};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn gaussian(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| scale * rng.sample::<f32, _>(StandardNormal))
        .collect()
}

/// A `[rows, n]` matrix of N(0, 0.2²) entries with `diag` on the diagonal (row `r`, column
/// `r mod n`): the shape of a trained GRU's new-gate recurrent matrix.
fn large_diagonal(rng: &mut StdRng, rows: usize, n: usize, diag: f32) -> Vec<f32> {
    let mut w = gaussian(rng, rows * n, 0.2);
    for r in 0..rows {
        w[r * n + r % n] = diag;
    }
    w
}

#[test]
fn never_worse_and_the_paper_result_unless_the_uniform_start_wins() {
    let mut rng = StdRng::seed_from_u64(21);
    for n in [1, 7, 63, 64, 65, 300] {
        for bits in 1..=8 {
            for cycles in [0, 1, 2, 4] {
                let w = if n > 2 && bits % 2 == 0 {
                    large_diagonal(&mut rng, 1, n, 3.0)
                } else {
                    gaussian(&mut rng, n, 1.0)
                };
                let paper = quantize(&w, bits, Method::Alternating { cycles }).unwrap();
                let multi = quantize(&w, bits, Method::AlternatingMultiStart { cycles }).unwrap();
                let ctx = format!("n {n} bits {bits} T {cycles}");
                // The starts are compared in f64 from BᵀB and Bᵀw, the reported error sums
                // the f32 reconstruction: they agree to rounding.
                let bound = paper.sq_error() * (1.0 + 1e-6) + 1e-12;
                assert!(multi.sq_error() <= bound, "{ctx}");
                if multi.codes() != paper.codes() {
                    // The uniform start won: its result differs, so it must be lower.
                    assert!(multi.sq_error() < bound, "{ctx}");
                }
            }
        }
    }
}

#[test]
fn large_diagonal_gets_its_own_level() {
    let mut rng = StdRng::seed_from_u64(22);
    // Awkward shapes: rows not a multiple of any block, n not a multiple of 64.
    let (rows, n) = (37, 301);
    let w = large_diagonal(&mut rng, rows, n, -4.5);
    for bits in 2..=4 {
        let paper = quantize_rows(&w, rows, n, bits, Method::alternating(), Par::Auto).unwrap();
        let multi = quantize_rows(
            &w,
            rows,
            n,
            bits,
            Method::AlternatingMultiStart { cycles: 2 },
            Par::Auto,
        )
        .unwrap();
        let (e_paper, e_multi) = (paper.relative_error(), multi.relative_error());
        println!("bits {bits}: alternating {e_paper:.4}, multistart {e_multi:.4}");
        // The greedy start leaves the diagonal far off; the uniform start finds it.
        assert!(e_paper > 0.3, "bits {bits}: {e_paper}");
        assert!(
            e_multi < 0.5 * e_paper,
            "bits {bits}: {e_multi} vs {e_paper}"
        );
        let d = multi.dequantize();
        for r in 0..rows {
            let v = d[r * n + r % n];
            assert!((v + 4.5).abs() < 0.45, "bits {bits} row {r}: diagonal {v}");
        }
    }
}

#[test]
fn parses_and_is_a_search() {
    let m: Method = "alternating-multistart:3".parse().unwrap();
    assert_eq!(m, Method::AlternatingMultiStart { cycles: 3 });
    assert!(m.is_search());
    assert_eq!(m.cycles(), Some(3));
    assert_eq!(m.to_string(), "alternating-multistart:3");
    assert!("alternating-multistart:x".parse::<Method>().is_err());
}
