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

const METHODS: [Method; 6] = [
    Method::Greedy,
    Method::Refined,
    Method::Alternating { cycles: 0 },
    Method::Alternating { cycles: 1 },
    Method::Alternating { cycles: 2 },
    Method::Alternating { cycles: 5 },
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
