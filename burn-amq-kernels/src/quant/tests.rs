//! Unit tests of the quantizers that need the internals: tiers compared directly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::engine::Workspace;
use super::kernel::Kern;
use super::*;
use crate::tier::Tier;

fn gaussian(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect()
}

fn run(kern: Kern, method: Method, w: &[f32], bits: usize) -> (Vec<f32>, Vec<u64>) {
    let words = words_for(w.len());
    let mut a = vec![0.0; bits];
    let mut p = vec![0; bits * words];
    Workspace::new().quantize(kern, method, w, &mut a, &mut p, words);
    (a, p)
}

const METHODS: [Method; 10] = [
    Method::Greedy,
    Method::Refined,
    Method::Alternating { cycles: 0 },
    Method::Alternating { cycles: 1 },
    Method::Alternating { cycles: 2 },
    Method::Alternating { cycles: 5 },
    Method::AlternatingRefit { cycles: 0 },
    Method::AlternatingRefit { cycles: 2 },
    Method::AlternatingMultiStart { cycles: 0 },
    Method::AlternatingMultiStart { cycles: 2 },
];

#[test]
fn avx512_matches_portable_exactly() {
    let simd = Kern::for_tier(Tier::Avx512);
    if simd == Kern::Portable {
        eprintln!("AVX-512 not available: nothing to compare");
        return;
    }
    let mut rng = StdRng::seed_from_u64(11);
    for n in [1, 5, 16, 17, 63, 64, 65, 100, 300, 1024, 1031] {
        for bits in 1..=8 {
            let mut w = gaussian(&mut rng, n);
            if n > 4 && bits % 3 == 0 {
                // Some exact zeros and repeated values exercise ties and collinear planes.
                w[0] = 0.0;
                w[1] = w[2];
                w[3] = -0.0;
            }
            for m in METHODS {
                let (a0, p0) = run(Kern::Portable, m, &w, bits);
                let (a1, p1) = run(simd, m, &w, bits);
                assert_eq!(a0, a1, "alphas n={n} bits={bits} {m}");
                assert_eq!(p0, p1, "planes n={n} bits={bits} {m}");
            }
        }
    }
}

#[test]
fn avx512_kernels_match_portable_passes() {
    let simd = Kern::for_tier(Tier::Avx512);
    if simd == Kern::Portable {
        return;
    }
    let mut rng = StdRng::seed_from_u64(12);
    for n in [1, 15, 16, 31, 32, 33, 64, 129, 1000] {
        let words = words_for(n);
        let w = gaussian(&mut rng, n);
        let mut prior = vec![0u64; 3 * words];
        for (i, word) in prior.iter_mut().enumerate() {
            *word = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        for p in prior.chunks_exact_mut(words) {
            p[words - 1] &= engine::tail_mask(n);
        }
        for np in 0..=3 {
            let alphas = &[0.9, 0.3, 0.1][..np];
            let (mut o0, mut o1) = (vec![0u64; words], vec![0u64; words]);
            let r0 = Kern::Portable.greedy_pass(&w, &prior, words, alphas, &mut o0);
            let r1 = simd.greedy_pass(&w, &prior, words, alphas, &mut o1);
            assert_eq!((r0, &o0), (r1, &o1), "n={n} prior={np}");
        }
        for i in 0..3 {
            let (a, b) = (&prior[i * words..(i + 1) * words], &prior[..words]);
            assert_eq!(Kern::Portable.plane_dot(n, a, b), simd.plane_dot(n, a, b));
        }
        for bits in 1..=8 {
            let mut alphas: Vec<f32> = (0..bits).map(|i| 1.0 / (i as f32 + 1.3)).collect();
            alphas[bits - 1] *= 0.5;
            let mut table = bst::CodeTable::default();
            table.build(&alphas);
            let (mut p0, mut p1) = (vec![0u64; bits * words], vec![!0u64; bits * words]);
            let (mut d0, mut d1) = (vec![0.0; bits], vec![0.0; bits]);
            Kern::Portable.bst_assign(&w, &table, &mut p0, words, &mut d0);
            simd.bst_assign(&w, &table, &mut p1, words, &mut d1);
            assert_eq!((&p0, &d0), (&p1, &d1), "n={n} bits={bits}");
        }
    }
}

#[test]
fn quantize_equals_activation_quantizer() {
    let mut rng = StdRng::seed_from_u64(13);
    for n in [1, 63, 300, 1024] {
        for bits in [1, 2, 3, 4, 8] {
            let w = gaussian(&mut rng, n);
            for m in METHODS {
                let q = quantize(&w, bits, m).unwrap();
                let mut aq = ActivationQuantizer::new(n, bits, m).unwrap();
                let mut a = vec![0.0; bits];
                let mut p = vec![0; bits * words_for(n)];
                aq.quantize_into(&w, &mut a, &mut p).unwrap();
                assert_eq!(q.codes().alphas(), &a[..]);
                assert_eq!(q.codes().planes(), &p[..]);
                // Every tier gives the same result as well.
                for tier in Tier::available() {
                    let mut aq = ActivationQuantizer::with_tier(n, bits, m, tier).unwrap();
                    let (mut a2, mut p2) = (vec![0.0; bits], vec![0; p.len()]);
                    aq.quantize_into(&w, &mut a2, &mut p2).unwrap();
                    assert_eq!((&a, &p), (&a2, &p2), "tier {tier}");
                }
            }
        }
    }
}

#[test]
fn refit_guard_keeps_iterates_no_worse() {
    // Alternating error is non-increasing in T on each vector (each half-step is optimal for
    // its variable, and the least-squares step refuses a worse α).
    let mut rng = StdRng::seed_from_u64(14);
    for bits in 2..=4 {
        for _ in 0..10 {
            let w = gaussian(&mut rng, 200);
            let mut prev = f64::INFINITY;
            for t in 0..5 {
                let e = quantize(&w, bits, Method::Alternating { cycles: t })
                    .unwrap()
                    .sq_error();
                assert!(e <= prev * (1.0 + 1e-6), "bits={bits} t={t}: {e} > {prev}");
                prev = e;
            }
        }
    }
}

/// Laplace-distributed values of scale `b` (heavier tails than Gaussian, like trained
/// weights).
fn laplace(rng: &mut StdRng, n: usize, b: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u: f32 = rng.random::<f32>() - 0.5;
            -b * u.signum() * (1.0 - 2.0 * u.abs()).max(f32::MIN_POSITIVE).ln()
        })
        .collect()
}

/// `(‖w − ŵ‖², ⟨w, ŵ⟩ / ‖ŵ‖², max_i |⟨w − ŵ, bᵢ⟩| / (‖w‖ √n))` in f64.
fn fit_stats(w: &[f32], q: &Quantized) -> (f64, f64, f64) {
    let codes = q.codes();
    let d = codes.dequantize();
    let r: Vec<f64> = w
        .iter()
        .zip(&d)
        .map(|(&x, &y)| f64::from(x) - f64::from(y))
        .collect();
    let wd: f64 = w
        .iter()
        .zip(&d)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    let dd: f64 = d.iter().map(|&y| f64::from(y) * f64::from(y)).sum();
    let norm = w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let n = w.len();
    let worst = (0..codes.bits())
        .map(|i| {
            let plane = codes.plane(0, i);
            let dot: f64 = (0..n)
                .map(|j| {
                    if (plane[j / 64] >> (j % 64)) & 1 == 1 {
                        r[j]
                    } else {
                        -r[j]
                    }
                })
                .sum();
            dot.abs() / (norm * (n as f64).sqrt())
        })
        .fold(0.0, f64::max);
    (r.iter().map(|x| x * x).sum(), wd / dd, worst)
}

#[test]
fn final_refit_is_least_squares_never_worse_and_unshrinks() {
    let mut rng = StdRng::seed_from_u64(15);
    for bits in 2..=4 {
        for n in [63, 200, 333] {
            let reps = 20;
            let (mut shrink_greedy, mut shrink_paper, mut shrink_refit) = (0.0, 0.0, 0.0);
            for _ in 0..reps {
                let w = laplace(&mut rng, n, 0.1);
                for t in [0, 1, 2, 5] {
                    let paper = quantize(&w, bits, Method::Alternating { cycles: t }).unwrap();
                    let refit = quantize(&w, bits, Method::AlternatingRefit { cycles: t }).unwrap();
                    let (e_paper, s_paper, _) = fit_stats(&w, &paper);
                    let (e_refit, s_refit, normal) = fit_stats(&w, &refit);
                    assert!(
                        e_refit <= e_paper * (1.0 + 1e-6),
                        "bits {bits} n {n} T {t}: {e_refit} > {e_paper}"
                    );
                    // The residual is orthogonal to every plane: α solves the normal
                    // equations of the returned planes.
                    assert!(normal < 1e-5, "bits {bits} n {n} T {t}: {normal}");
                    if t == 0 {
                        shrink_greedy += s_paper / f64::from(reps);
                    }
                    if t == 2 {
                        shrink_paper += s_paper / f64::from(reps);
                        shrink_refit += s_refit / f64::from(reps);
                    }
                }
            }
            // The figures quoted in the docs: `cargo test -p burn-amq-kernels --release --lib
            // final_refit -- --nocapture`.
            println!(
                "bits {bits} n {n}: best rescale of w-hat: greedy {shrink_greedy:.4}, \
                 alternating T=2 {shrink_paper:.4}, alternating-refit T=2 {shrink_refit:.4}"
            );
            // Ending on a code update leaves ŵ too small; the refit makes it unbiased.
            assert!(shrink_paper > 1.01, "bits {bits} n {n}: {shrink_paper}");
            assert!(
                (shrink_refit - 1.0).abs() < 1e-4,
                "bits {bits} n {n}: {shrink_refit}"
            );
        }
    }
}
