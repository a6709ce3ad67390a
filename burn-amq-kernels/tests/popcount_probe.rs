//! Temporary probe.
mod popcount_common;
use burn_amq_kernels::popcount;
use burn_amq_kernels::{Par, Tier, pack::InterleavedPlanes};
use popcount_common::{random_planes, rng};
use std::time::Instant;
#[test]
#[ignore = "probe"]
fn probe() {
    let mut g = rng(1);
    for (m, n, kw, ka, b) in [
        (4096, 1024, 2, 2, 1),
        (512, 8192, 2, 2, 1),
        (4096, 1024, 1, 1, 1),
        (512, 8192, 1, 1, 1),
        (4096, 1024, 2, 2, 20),
        (512, 8192, 2, 2, 20),
    ] {
        let w = random_planes(&mut g, m, n, kw, false);
        let x = random_planes(&mut g, b, n, ka, false);
        let il = InterleavedPlanes::from(&w);
        let mut out = vec![0.0f32; m * b];
        let mut best = f64::MAX;
        for _ in 0..200 {
            let t = Instant::now();
            popcount::popcount_matmul_with(Tier::Avx512, &il, x.as_ref(), &mut out, Par::Seq)
                .unwrap();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{m}x{n} {kw}/{ka} b{b}: min {:.1} us", best * 1e6);
    }
}
