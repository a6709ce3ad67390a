//! Shapes, invariants and agreement between entry points.

use burn_amq_kernels::quant::{ActivationQuantizer, Method, quantize, quantize_rows};
use burn_amq_kernels::{BitPlanes, BitPlanesMut, Par, words_for};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const ALL: [Method; 9] = [
    Method::Uniform,
    Method::Balanced,
    Method::Greedy,
    Method::Refined,
    Method::Alternating { cycles: 0 },
    Method::Alternating { cycles: 1 },
    Method::Alternating { cycles: 2 },
    Method::AlternatingRefit { cycles: 2 },
    Method::AlternatingMultiStart { cycles: 2 },
];

fn gaussian(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect()
}

/// Canonical form: α ≥ 0 descending per row, padding bits zero.
fn assert_canonical(codes: &BitPlanes, ctx: &str) {
    let tail = codes.n() % 64;
    for r in 0..codes.rows() {
        let a = codes.row_alphas(r);
        assert!(a.iter().all(|&x| x >= 0.0 && x.is_finite()), "{ctx}: {a:?}");
        assert!(
            a.windows(2).all(|p| p[0] >= p[1]),
            "{ctx}: not sorted {a:?}"
        );
        if tail != 0 {
            for i in 0..codes.bits() {
                let last = *codes.plane(r, i).last().unwrap();
                assert_eq!(last >> tail, 0, "{ctx}: padding bits set");
            }
        }
    }
}

#[test]
fn awkward_lengths_all_bits_all_methods() {
    let mut rng = StdRng::seed_from_u64(3);
    for n in [1, 2, 63, 64, 65, 300, 1000] {
        let w = gaussian(&mut rng, n);
        for bits in 1..=8 {
            for m in ALL {
                let ctx = format!("n={n} bits={bits} {m}");
                let q = quantize(&w, bits, m).unwrap();
                assert_eq!(q.codes().planes().len(), bits * words_for(n));
                assert_canonical(q.codes(), &ctx);
                let d = q.dequantize();
                let err: f64 = w
                    .iter()
                    .zip(&d)
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                    .sum();
                let rep = q.sq_error();
                assert!(
                    (err - rep).abs() <= 1e-4 * rep.max(1e-30),
                    "{ctx}: {err} vs {rep}"
                );
                assert_eq!(q.row_sq_error(0), rep);
                let norm: f64 = w.iter().map(|&x| f64::from(x).powi(2)).sum();
                assert!((q.relative_error() - rep / norm).abs() <= 1e-12, "{ctx}");
                // More bits never hurts the searches (each extends the previous one).
                if bits > 1 && matches!(m, Method::Greedy | Method::Refined) {
                    let fewer = quantize(&w, bits - 1, m).unwrap().sq_error();
                    assert!(rep <= fewer * (1.0 + 1e-6) + 1e-12, "{ctx}");
                }
            }
        }
    }
}

#[test]
fn rows_equal_per_row_and_thread_count_does_not_matter() {
    let mut rng = StdRng::seed_from_u64(4);
    let (rows, n) = (37, 130);
    let w = gaussian(&mut rng, rows * n);
    for bits in [1, 2, 3, 5] {
        for m in ALL {
            let seq = quantize_rows(&w, rows, n, bits, m, Par::Seq).unwrap();
            let par = quantize_rows(&w, rows, n, bits, m, Par::Threads(2)).unwrap();
            let auto = quantize_rows(&w, rows, n, bits, m, Par::Auto).unwrap();
            assert_eq!(seq, par, "{m}");
            assert_eq!(seq, auto, "{m}");
            let mut total = 0.0;
            for r in 0..rows {
                let one = quantize(&w[r * n..(r + 1) * n], bits, m).unwrap();
                assert_eq!(one.codes().row_alphas(0), seq.codes().row_alphas(r));
                for i in 0..bits {
                    assert_eq!(one.codes().plane(0, i), seq.codes().plane(r, i));
                }
                assert_eq!(one.sq_error(), seq.row_sq_error(r));
                total += one.sq_error();
            }
            assert!((seq.sq_error() - total).abs() <= 1e-9 * total);
        }
    }
}

#[test]
fn activation_batch_equals_rows() {
    let mut rng = StdRng::seed_from_u64(5);
    let (rows, n, bits) = (6, 300, 2);
    let x = gaussian(&mut rng, rows * n);
    let want = quantize_rows(&x, rows, n, bits, Method::alternating(), Par::Seq).unwrap();
    let mut aq = ActivationQuantizer::new(n, bits, Method::alternating()).unwrap();
    assert_eq!(
        (aq.n(), aq.bits(), aq.method()),
        (n, bits, Method::alternating())
    );
    let mut out = BitPlanes::zeros(rows, n, bits).unwrap();
    aq.quantize_batch_into(&x, &mut out.as_mut()).unwrap();
    assert_eq!(&out, want.codes());
    // Caller-owned buffers through BitPlanesMut::new as well.
    let mut a = vec![0.0; rows * bits];
    let mut p = vec![0; rows * bits * words_for(n)];
    let mut view = BitPlanesMut::new(rows, n, bits, &mut a, &mut p).unwrap();
    aq.quantize_batch_into(&x, &mut view).unwrap();
    assert_eq!(&a[..], want.codes().alphas());
    assert_eq!(&p[..], want.codes().planes());
}
