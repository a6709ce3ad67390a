//! Quick timing table (not a benchmark suite, no assertions). Run in release:
//! `cargo test --release -p burn-amq-kernels --test popcount_timing -- --ignored --nocapture`

mod popcount_common;

use std::time::{Duration, Instant};

use burn_amq_kernels::popcount;
use burn_amq_kernels::{Par, Tier, pack::InterleavedPlanes};
use popcount_common::{random_planes, rng};

/// `(min, median)` over 15 trials of the mean time per call, each trial lasting about 2 ms.
/// The minimum estimates an idle machine; the median shows the effect of other load.
fn time_call(mut f: impl FnMut()) -> (Duration, Duration) {
    f();
    let start = Instant::now();
    let mut reps = 0u32;
    while start.elapsed() < Duration::from_millis(2) {
        f();
        reps += 1;
    }
    let per_trial = reps.max(1);
    let mut trials: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_trial {
                f();
            }
            t.elapsed() / per_trial
        })
        .collect();
    trials.sort();
    (trials[0], trials[7])
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
    println!("| shape | W/A | batch | tier | 1 thread min / median | 2 threads min / median |");
    println!("|---|---|---|---|---|---|");
    for (m, n, kw, ka, batch) in cases {
        let w = random_planes(&mut g, m, n, kw, false);
        let x = random_planes(&mut g, batch, n, ka, false);
        let il = InterleavedPlanes::from(&w);
        let mut out = vec![0.0f32; m * batch];
        for tier in Tier::available() {
            let mut t = [(Duration::ZERO, Duration::ZERO); 2];
            for (slot, par) in [Par::Seq, Par::Threads(2)].into_iter().enumerate() {
                t[slot] = time_call(|| {
                    popcount::popcount_matmul_with(tier, &il, x.as_ref(), &mut out, par).unwrap();
                    std::hint::black_box(&mut out);
                });
            }
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            println!(
                "| {m}×{n} | {kw}/{ka} | {batch} | {tier} | {:.1} / {:.1} µs | {:.1} / {:.1} µs |",
                us(t[0].0),
                us(t[0].1),
                us(t[1].0),
                us(t[1].1)
            );
        }
    }
}
