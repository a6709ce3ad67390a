//! Criterion benches of the kernels alone (no Burn): popcount products, lookup-table
//! products and online activation quantization, on the active tier.
//!
//! `cargo bench -p burn-amq-benches --bench kernels`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use burn_amq_benches::data::gaussian;
use burn_amq_kernels::lut::{LutScratch, LutWeights, lut_matmul};
use burn_amq_kernels::pack::interleaved::InterleavedPlanes;
use burn_amq_kernels::popcount::popcount_matmul;
use burn_amq_kernels::quant::{ActivationQuantizer, Method, quantize_rows};
use burn_amq_kernels::{Par, words_for};

fn popcount(c: &mut Criterion) {
    let mut g = c.benchmark_group("popcount_matmul");
    for &(m, n) in &[(4096usize, 1024usize), (1200, 600)] {
        let w = gaussian(m * n, 1);
        for &(wb, ab) in &[(1usize, 1usize), (2, 2), (3, 3)] {
            let planes = quantize_rows(&w, m, n, wb, Method::default(), Par::Auto)
                .unwrap()
                .into_codes();
            let inter = InterleavedPlanes::from(&planes);
            for &batch in &[1usize, 20] {
                let x = gaussian(batch * n, 2);
                let xq = quantize_rows(&x, batch, n, ab, Method::default(), Par::Seq)
                    .unwrap()
                    .into_codes();
                let mut out = vec![0.0f32; batch * m];
                g.throughput(Throughput::Elements((m * n * batch) as u64));
                g.bench_with_input(
                    BenchmarkId::new(format!("{m}x{n}/w{wb}a{ab}"), batch),
                    &batch,
                    |b, _| {
                        b.iter(|| popcount_matmul(&inter, xq.as_ref(), &mut out, Par::Seq).unwrap())
                    },
                );
            }
        }
    }
    g.finish();
}

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("lut_matmul");
    for &(m, n) in &[(4096usize, 1024usize), (1200, 600)] {
        let w = gaussian(m * n, 1);
        let planes = quantize_rows(&w, m, n, 2, Method::default(), Par::Auto)
            .unwrap()
            .into_codes();
        let lut = LutWeights::from(&planes);
        for &batch in &[1usize, 20] {
            let x = gaussian(batch * n, 2);
            let mut out = vec![0.0f32; batch * m];
            let mut scratch = LutScratch::new();
            g.throughput(Throughput::Elements((m * n * batch) as u64));
            g.bench_with_input(
                BenchmarkId::new(format!("{m}x{n}/w2"), batch),
                &batch,
                |b, _| {
                    b.iter(|| {
                        lut_matmul(&lut, &x, batch, &mut out, &mut scratch, Par::Seq).unwrap()
                    })
                },
            );
        }
    }
    g.finish();
}

fn activation_quantize(c: &mut Criterion) {
    let mut g = c.benchmark_group("activation_quantize");
    for &n in &[300usize, 1024] {
        let x = gaussian(n, 3);
        for &k in &[2usize, 3] {
            let mut q = ActivationQuantizer::new(n, k, Method::default()).unwrap();
            let mut alphas = vec![0.0f32; k];
            let mut planes = vec![0u64; k * words_for(n)];
            g.bench_with_input(BenchmarkId::new(format!("n{n}"), k), &k, |b, _| {
                b.iter(|| q.quantize_into(&x, &mut alphas, &mut planes).unwrap())
            });
        }
    }
    g.finish();
}

// The macro generates an undocumented public fn.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, popcount, lookup, activation_quantize);
}
use group::benches;
criterion_main!(benches);
