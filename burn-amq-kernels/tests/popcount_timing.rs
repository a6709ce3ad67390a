//! Quick timing table (not a benchmark suite, no assertions). Run in release:
//! `cargo test --release -p burn-amq-kernels --test popcount_timing -- --ignored --nocapture`

mod popcount_common;

use std::time::{Duration, Instant};

use burn_amq_kernels::popcount;
use burn_amq_kernels::{Par, Tier, pack::InterleavedPlanes};
use popcount_common::{random_planes, rng};

/// Median over 7 trials of the mean time per call, each trial lasting about 20 ms.
fn time_call(mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    let mut reps = 0u32;
    while start.elapsed() < Duration::from_millis(5) {
        f();
        reps += 1;
    }
    let per_trial = (reps * 4).max(1);
    let mut trials: Vec<Duration> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_trial {
                f();
            }
            t.elapsed() / per_trial
        })
        .collect();
    trials.sort();
    trials[3]
}

#[test]
#[ignore = "timing run; use --release -- --ignored --nocapture"]
fn timing_table() {
    let mut g = rng(42);
    let mut cases = Vec::new();
    for (kw, ka) in [(1, 1), (2, 2), (3, 3), (4, 4)] {
        for batch in [1, 20] {
            cases.push((4096, 1024, kw, ka, batch));
        }
    }
    cases.push((1200, 600, 2, 2, 1));
    println!("| shape | W/A | batch | tier | 1 thread | 2 threads |");
    println!("|---|---|---|---|---|---|");
    for (m, n, kw, ka, batch) in cases {
        let w = random_planes(&mut g, m, n, kw, false);
        let x = random_planes(&mut g, batch, n, ka, false);
        let il = InterleavedPlanes::from(&w);
        let mut out = vec![0.0f32; m * batch];
        for tier in Tier::available() {
            let mut t = [Duration::ZERO; 2];
            for (slot, par) in [Par::Seq, Par::Threads(2)].into_iter().enumerate() {
                t[slot] = time_call(|| {
                    popcount::popcount_matmul_with(tier, &il, x.as_ref(), &mut out, par).unwrap();
                    std::hint::black_box(&mut out);
                });
            }
            println!(
                "| {m}×{n} | {kw}/{ka} | {batch} | {tier} | {:.1} µs | {:.1} µs |",
                t[0].as_secs_f64() * 1e6,
                t[1].as_secs_f64() * 1e6
            );
        }
    }
}
