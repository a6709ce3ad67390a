//! Quick timing and accuracy report for the lookup-table product (not a hard assert).
//!
//! `cargo test --release -p burn-amq-kernels --test lut_bench -- --ignored --nocapture`

use std::time::{Duration, Instant};

use burn_amq_kernels::lut::{LutScratch, LutWeights, lut_matmul_with, reference};
use burn_amq_kernels::{BitPlanes, Par, Tier, words_for};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

fn planes(rng: &mut StdRng, rows: usize, n: usize, bits: usize) -> BitPlanes {
    let words = words_for(n);
    let mut p: Vec<u64> = (0..rows * bits * words).map(|_| rng.random()).collect();
    if !n.is_multiple_of(64) {
        for (i, w) in p.iter_mut().enumerate() {
            if i % words == words - 1 {
                *w &= (1u64 << (n % 64)) - 1;
            }
        }
    }
    let alphas = (0..rows * bits)
        .map(|i| 0.5f32.powi((i % bits) as i32))
        .collect();
    BitPlanes::from_parts(rows, n, bits, alphas, p).unwrap()
}

/// `(median, min)` time of `f` over repetitions filling ~`budget` (at least 5, after a
/// warm-up). The development machine is shared; the minimum is the less noisy figure.
fn time(budget: Duration, mut f: impl FnMut()) -> (Duration, Duration) {
    f();
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 5 || (start.elapsed() < budget && samples.len() < 2000) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    samples.sort();
    (samples[samples.len() / 2], samples[0])
}

#[test]
#[ignore = "timing report; run in release with --ignored --nocapture"]
fn lut_timing_report() {
    let mut rng = StdRng::seed_from_u64(42);
    let tiers: Vec<Tier> = Tier::available()
        .into_iter()
        .filter(|&t| t != Tier::Popcnt) // shares the portable kernel
        .collect();
    println!(
        "| shape | bits | batch | threads | tier | median µs | min µs | tables µs (1-row proxy, min) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &(m, n) in &[(4096, 1024), (1200, 600), (4096, 2048)] {
        for bits in [2, 3] {
            let p = planes(&mut rng, m, n, bits);
            let w = LutWeights::from(&p);
            let one = LutWeights::from(&planes(&mut rng, 1, n, bits));
            for batch in [1, 20] {
                let x: Vec<f32> = (0..batch * n)
                    .map(|_| StandardNormal.sample(&mut rng))
                    .collect();
                let mut out = vec![0.0; batch * m];
                let mut out1 = vec![0.0; batch];
                let mut s = LutScratch::new();
                for &tier in &tiers {
                    let budget =
                        Duration::from_millis(if tier == Tier::Portable { 40 } else { 80 });
                    let (_, tab) = time(budget, || {
                        lut_matmul_with(tier, &one, &x, batch, &mut out1, &mut s, Par::Seq).unwrap()
                    });
                    for threads in [1, 2] {
                        let par = if threads == 1 {
                            Par::Seq
                        } else {
                            Par::Threads(2)
                        };
                        let (t, tmin) = time(budget, || {
                            lut_matmul_with(tier, &w, &x, batch, &mut out, &mut s, par).unwrap()
                        });
                        println!(
                            "| {m}×{n} | {bits} | {batch} | {threads} | {tier} | {:.1} | {:.1} | {:.2} |",
                            t.as_secs_f64() * 1e6,
                            tmin.as_secs_f64() * 1e6,
                            tab.as_secs_f64() * 1e6
                        );
                    }
                }
            }
        }
    }
}

/// Simulated lookup product with tables quantized to `±qmax` (same scheme as the crate's:
/// per-vector step `max Σ|x| / qmax`, round to nearest) to compare table precisions.
fn simulated(p: &BitPlanes, x: &[f32], qmax: f64) -> Vec<f64> {
    let n = p.n();
    let groups = n.div_ceil(4);
    let mut max = 0.0f64;
    for g in 0..groups {
        let s: f64 = x[g * 4..(g * 4 + 4).min(n)]
            .iter()
            .map(|v| v.abs() as f64)
            .sum();
        max = max.max(s);
    }
    let step = max / qmax;
    let mut tab = vec![0.0f64; groups * 16];
    for g in 0..groups {
        for idx in 0..16 {
            let mut t = 0.0f64;
            for k in 0..4 {
                let j = g * 4 + k;
                if j < n {
                    t += if (idx >> k) & 1 == 1 {
                        x[j] as f64
                    } else {
                        -(x[j] as f64)
                    };
                }
            }
            tab[g * 16 + idx] = (t / step).round() * step;
        }
    }
    (0..p.rows())
        .map(|r| {
            let mut acc = 0.0;
            for i in 0..p.bits() {
                let plane = p.plane(r, i);
                let mut sum = 0.0;
                for g in 0..groups {
                    let idx = (plane[g / 16] >> ((g % 16) * 4)) & 0xF;
                    sum += tab[g * 16 + idx as usize];
                }
                acc += p.row_alphas(r)[i] as f64 * sum;
            }
            acc
        })
        .collect()
}

#[test]
#[ignore = "accuracy report; run in release with --ignored --nocapture"]
fn lut_accuracy_report() {
    let mut rng = StdRng::seed_from_u64(7);
    println!("| shape | bits | rel RMS kernel (±127) | ±63 (sim) | ±127 (sim) | ±32767 (sim) |");
    println!("|---|---|---|---|---|---|");
    for &(m, n) in &[(4096, 1024), (1200, 600), (4096, 2048)] {
        for bits in [2, 3] {
            // Random codes with descending α: the outputs have the statistics of a quantized
            // N(0, 1) matrix times N(0, 1) activations.
            let p = planes(&mut rng, m, n, bits);
            let w = LutWeights::from(&p);
            let x: Vec<f32> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
            let mut ex = vec![0.0; m];
            reference::lut_matmul_exact(p.as_ref(), &x, 1, &mut ex).unwrap();
            let mut out = vec![0.0; m];
            lut_matmul_with(
                Tier::best(),
                &w,
                &x,
                1,
                &mut out,
                &mut LutScratch::new(),
                Par::Seq,
            )
            .unwrap();
            let rel = |y: &[f64]| {
                let (mut e2, mut o2) = (0.0, 0.0);
                for (&a, &e) in y.iter().zip(&ex) {
                    e2 += (a - e as f64).powi(2);
                    o2 += (e as f64).powi(2);
                }
                100.0 * (e2 / o2).sqrt()
            };
            let k: Vec<f64> = out.iter().map(|&v| v as f64).collect();
            println!(
                "| {m}×{n} | {bits} | {:.3} % | {:.3} % | {:.3} % | {:.5} % |",
                rel(&k),
                rel(&simulated(&p, &x, 63.0)),
                rel(&simulated(&p, &x, 127.0)),
                rel(&simulated(&p, &x, 32767.0)),
            );
        }
    }
}
