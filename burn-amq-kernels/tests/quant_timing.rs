//! Timing of the on-line activation quantizer. Ignored by default; run with
//! `cargo test --release -p burn-amq-kernels --test quant_timing -- --ignored --nocapture`
//! (times the active tier; `AMQ_KERNEL_TIER=portable` times the portable kernels).

use std::time::Instant;

use burn_amq_kernels::quant::{ActivationQuantizer, Method};
use burn_amq_kernels::{Tier, words_for};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn activation_quantize_into_timing() {
    let mut rng = StdRng::seed_from_u64(1);
    eprintln!("active tier: {}", Tier::active());
    {
        let tier = Tier::active();
        for n in [300, 1024] {
            for bits in [2, 3] {
                let xs: Vec<Vec<f32>> = (0..16)
                    .map(|_| (0..n).map(|_| rng.sample(StandardNormal)).collect())
                    .collect();
                let mut q =
                    ActivationQuantizer::with_tier(n, bits, Method::alternating(), tier).unwrap();
                let mut a = vec![0.0; bits];
                let mut p = vec![0; bits * words_for(n)];
                // Minimum over many short batches: the machine is shared, and the minimum is
                // the cost without interference.
                let iters = 500;
                let mut best = f64::INFINITY;
                for _ in 0..200 {
                    let t = Instant::now();
                    for i in 0..iters {
                        q.quantize_into(&xs[i % xs.len()], &mut a, &mut p).unwrap();
                    }
                    best = best.min(t.elapsed().as_secs_f64() / iters as f64);
                }
                std::hint::black_box((&a, &p));
                eprintln!(
                    "tier {tier:>8} n={n:>4} k={bits} T=2: {:.3} µs per quantize_into",
                    best * 1e6
                );
            }
        }
    }
}
