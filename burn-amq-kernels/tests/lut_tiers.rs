//! Lookup-table product: every tier against the portable integer kernel (bit-exact) and the
//! exact f64 reference (within `error_bound`), shapes and errors, threading, scratch reuse,
//! and accuracy on realistic data.

use burn_amq_kernels::lut::{
    LutScratch, LutWeights, error_bound, lut_matmul, lut_matmul_with, reference,
};
use burn_amq_kernels::{AmqError, BitPlanes, Par, Tier, words_for};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// Random planes (padding bits zero) with α drawn from a few regimes; rows `zero_rows` get α = 0.
fn random_planes(
    rng: &mut StdRng,
    rows: usize,
    n: usize,
    bits: usize,
    zero_row: bool,
) -> BitPlanes {
    let words = words_for(n);
    let mut planes = vec![0u64; rows * bits * words];
    for (idx, w) in planes.iter_mut().enumerate() {
        *w = rng.random::<u64>();
        if idx % words == words - 1 && !n.is_multiple_of(64) {
            *w &= (1u64 << (n % 64)) - 1;
        }
    }
    let mut alphas = Vec::with_capacity(rows * bits);
    for r in 0..rows {
        let scale = match r % 4 {
            0 => 1.0,
            1 => 1e-3,
            2 => 37.0,
            _ => rng.random_range(0.01..10.0),
        };
        let mut a = scale;
        for _ in 0..bits {
            alphas.push(if zero_row && r % 5 == 3 { 0.0 } else { a });
            a *= rng.random_range(0.3..0.7);
        }
    }
    BitPlanes::from_parts(rows, n, bits, alphas, planes).unwrap()
}

/// Activations of very different kinds, one regime per batch row.
fn random_x(rng: &mut StdRng, batch: usize, n: usize) -> Vec<f32> {
    let mut x = Vec::with_capacity(batch * n);
    for b in 0..batch {
        for j in 0..n {
            let g: f32 = StandardNormal.sample(rng);
            x.push(match (b + n) % 5 {
                0 => g,
                1 => 0.0,
                2 => g * 10f32.powi(rng.random_range(-30..30)),
                3 => {
                    if j == n / 2 {
                        1e6
                    } else {
                        g * 1e-3
                    }
                }
                _ => g * if j % 2 == 0 { 1e-20 } else { 1e-41 }, // subnormal
            });
        }
    }
    x
}

fn exact(p: &BitPlanes, x: &[f32], batch: usize) -> Vec<f32> {
    let mut out = vec![0.0; batch * p.rows()];
    reference::lut_matmul_exact(p.as_ref(), x, batch, &mut out).unwrap();
    out
}

/// Checks every available tier on one case: bit-exact vs portable, within the bound of exact.
fn check_case(rng: &mut StdRng, rows: usize, n: usize, bits: usize, batch: usize) {
    let p = random_planes(rng, rows, n, bits, true);
    let w = LutWeights::from(&p);
    let x = random_x(rng, batch, n);
    let ex = exact(&p, &x, batch);
    let bound = error_bound(&w, &x, batch).unwrap();
    let mut scratch = LutScratch::new();
    let mut base = vec![f32::NAN; batch * rows];
    lut_matmul_with(
        Tier::Portable,
        &w,
        &x,
        batch,
        &mut base,
        &mut scratch,
        Par::Seq,
    )
    .unwrap();
    for (i, ((&o, &e), &bd)) in base.iter().zip(&ex).zip(&bound).enumerate() {
        // The reference itself is rounded to f32 (and carries ~1e-16 f64 error).
        let tol = bd * (1.0 + 1e-6) + e.abs() * f32::EPSILON;
        assert!(
            (o - e).abs() <= tol,
            "rows {rows} n {n} bits {bits} batch {batch} out {i}: lut {o} exact {e} bound {bd}"
        );
    }
    let base_tables = scratch.tables().to_vec();
    let base_scales = scratch.scales().to_vec();
    for tier in Tier::available() {
        let mut out = vec![f32::NAN; batch * rows];
        lut_matmul_with(tier, &w, &x, batch, &mut out, &mut scratch, Par::Seq).unwrap();
        assert!(scratch.tables() == base_tables, "{tier}: tables differ");
        assert_eq!(scratch.scales(), base_scales, "{tier}: scales differ");
        for (i, (o, b)) in out.iter().zip(&base).enumerate() {
            assert_eq!(
                o.to_bits(),
                b.to_bits(),
                "{tier}: rows {rows} n {n} bits {bits} batch {batch} out {i}: {o} vs {b}"
            );
        }
    }
}

#[test]
fn every_tier_matches_portable_and_exact_on_awkward_shapes() {
    let mut rng = StdRng::seed_from_u64(1);
    let ns = [1, 3, 4, 5, 63, 64, 65, 300, 1000];
    let rows = [1, 7, 9, 33, 100];
    let batches = [1, 3, 20];
    let mut case = 0;
    for &n in &ns {
        for &r in &rows {
            let bits = 1 + case % 8;
            let batch = batches[case % 3];
            // Keep the dev-profile run short: the big × big × batch-20 corner once is enough.
            let batch = if n * r > 30_000 && batch == 20 && case % 2 == 0 {
                3
            } else {
                batch
            };
            check_case(&mut rng, r, n, bits, batch);
            case += 1;
        }
    }
}

#[test]
fn every_bit_width_on_every_tier() {
    let mut rng = StdRng::seed_from_u64(2);
    for bits in 1..=8 {
        for &(rows, n) in &[(33, 65), (7, 300), (100, 5)] {
            check_case(&mut rng, rows, n, bits, 3);
        }
    }
}

#[test]
fn long_rows_cross_the_accumulator_flush() {
    // The u16 accumulators are flushed every 128 units (1024 columns); 4100 columns = 513
    // units, and all-+1 weights on all-positive x drive every entry to the maximum (the worst
    // case for the u16 sums).
    let mut rng = StdRng::seed_from_u64(3);
    check_case(&mut rng, 17, 4100, 2, 1);
    let n = 8200;
    let rows = 20;
    let planes = vec![u64::MAX; rows * words_for(n)];
    let mut planes = planes;
    let words = words_for(n);
    for r in 0..rows {
        planes[r * words + words - 1] &= (1u64 << (n % 64)) - 1;
    }
    let p = BitPlanes::from_parts(rows, n, 1, vec![1.0; rows], planes).unwrap();
    let w = LutWeights::from(&p);
    let x = vec![1.0f32; n];
    let mut scratch = LutScratch::new();
    for tier in Tier::available() {
        let mut out = vec![0.0; rows];
        lut_matmul_with(tier, &w, &x, 1, &mut out, &mut scratch, Par::Seq).unwrap();
        // Every group sums to exactly 4 = the table maximum, which is exactly representable.
        assert!(out.iter().all(|&o| o == n as f32), "{tier}: {out:?}");
    }
}

#[test]
fn threads_give_the_same_result() {
    let mut rng = StdRng::seed_from_u64(4);
    let (rows, n, bits, batch) = (300, 500, 3, 3);
    let p = random_planes(&mut rng, rows, n, bits, false);
    let w = LutWeights::from(&p);
    let x = random_x(&mut rng, batch, n);
    let mut scratch = LutScratch::new();
    for tier in Tier::available() {
        let mut seq = vec![0.0; batch * rows];
        let mut par = vec![1.0; batch * rows];
        lut_matmul_with(tier, &w, &x, batch, &mut seq, &mut scratch, Par::Seq).unwrap();
        for _ in 0..5 {
            lut_matmul_with(tier, &w, &x, batch, &mut par, &mut scratch, Par::Threads(2)).unwrap();
            assert_eq!(seq, par, "{tier}");
        }
    }
    let mut auto = vec![0.0; batch * rows];
    lut_matmul(&w, &x, batch, &mut auto, &mut scratch, Par::Auto).unwrap();
    let mut seq = vec![0.0; batch * rows];
    lut_matmul_with(
        Tier::Portable,
        &w,
        &x,
        batch,
        &mut seq,
        &mut scratch,
        Par::Seq,
    )
    .unwrap();
    assert_eq!(auto, seq);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut rng = StdRng::seed_from_u64(5);
    let p = random_planes(&mut rng, 9, 10, 2, false);
    let w = LutWeights::from(&p);
    let mut s = LutScratch::new();
    let x = vec![1.0f32; 20];
    let mut out = vec![0.0f32; 18];
    assert!(matches!(
        lut_matmul(&w, &x[..19], 2, &mut out, &mut s, Par::Seq),
        Err(AmqError::LengthMismatch { what: "x", .. })
    ));
    assert!(matches!(
        lut_matmul(&w, &x, 2, &mut out[..17], &mut s, Par::Seq),
        Err(AmqError::LengthMismatch { what: "out", .. })
    ));
    assert!(matches!(
        lut_matmul(&w, &[], 0, &mut [], &mut s, Par::Seq),
        Err(AmqError::Empty { .. })
    ));
    assert!(matches!(
        error_bound(&w, &[], 0),
        Err(AmqError::Empty { .. })
    ));
    assert!(lut_matmul(&w, &x, usize::MAX, &mut out, &mut s, Par::Seq).is_err());
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut xb = x.clone();
        xb[13] = bad;
        for tier in Tier::available() {
            let r = lut_matmul_with(tier, &w, &xb, 2, &mut out, &mut s, Par::Seq);
            assert!(
                matches!(
                    r,
                    Err(AmqError::NonFinite {
                        what: "x",
                        index: 13,
                        ..
                    })
                ),
                "{tier}: {r:?}"
            );
        }
        assert!(matches!(
            error_bound(&w, &xb, 2),
            Err(AmqError::NonFinite { .. })
        ));
        let mut o = vec![0.0; 18];
        assert!(matches!(
            reference::lut_matmul_exact(p.as_ref(), &xb, 2, &mut o),
            Err(AmqError::NonFinite { .. })
        ));
    }
    // Huge but finite x must not be mistaken for a non-finite one.
    let xh = vec![f32::MAX; 20];
    lut_matmul(&w, &xh, 2, &mut out, &mut s, Par::Seq).unwrap();
    #[cfg(target_arch = "x86_64")]
    assert!(matches!(
        lut_matmul_with(Tier::Neon, &w, &x, 2, &mut out, &mut s, Par::Seq),
        Err(AmqError::TierUnavailable("neon"))
    ));
}

#[test]
fn scratch_stops_growing_after_the_first_call() {
    let mut rng = StdRng::seed_from_u64(6);
    let p = random_planes(&mut rng, 40, 200, 2, false);
    let w = LutWeights::from(&p);
    let x = random_x(&mut rng, 4, 200);
    let mut out = vec![0.0; 4 * 40];
    let mut s = LutScratch::new();
    assert_eq!(s.capacity_bytes(), 0);
    lut_matmul(&w, &x, 4, &mut out, &mut s, Par::Seq).unwrap();
    let cap = s.capacity_bytes();
    let ptr = s.tables().as_ptr();
    for batch in [4, 1, 3] {
        lut_matmul(
            &w,
            &x[..batch * 200],
            batch,
            &mut out[..batch * 40],
            &mut s,
            Par::Seq,
        )
        .unwrap();
        assert_eq!(s.capacity_bytes(), cap);
        assert_eq!(s.tables().as_ptr(), ptr);
    }
}

#[test]
fn layout_sizes() {
    let mut rng = StdRng::seed_from_u64(7);
    let p = random_planes(&mut rng, 33, 65, 3, false);
    let w = LutWeights::from_planes(p.as_ref());
    assert_eq!((w.rows(), w.n(), w.bits()), (33, 65, 3));
    assert_eq!(w.packed_bytes(), p.packed_bytes());
    assert_eq!(w.packed_bytes(), 33 * 3 * 2 * 8 + 33 * 3 * 4);
    // 1 block × 3 planes × 9 units × 64 bytes + α + α transposed (64 rows × 3 planes).
    assert_eq!(w.layout_bytes(), 3 * 9 * 64 + 33 * 3 * 4 + 64 * 3 * 4);
}

/// Greedy 2-or-more-bit binary coding of a row (test helper; the crate's quantizers live
/// elsewhere): `bᵢ = sign(residual)`, `αᵢ = mean |residual|`.
fn greedy_planes(w: &[f32], rows: usize, n: usize, bits: usize) -> BitPlanes {
    let words = words_for(n);
    let mut planes = vec![0u64; rows * bits * words];
    let mut alphas = vec![0.0f32; rows * bits];
    for r in 0..rows {
        let mut res: Vec<f32> = w[r * n..(r + 1) * n].to_vec();
        for i in 0..bits {
            let a = res.iter().map(|v| v.abs()).sum::<f32>() / n as f32;
            alphas[r * bits + i] = a;
            let plane = &mut planes[(r * bits + i) * words..(r * bits + i + 1) * words];
            for (j, v) in res.iter_mut().enumerate() {
                if *v >= 0.0 {
                    plane[j / 64] |= 1 << (j % 64);
                    *v -= a;
                } else {
                    *v += a;
                }
            }
        }
    }
    BitPlanes::from_parts(rows, n, bits, alphas, planes).unwrap()
}

/// `(relative RMS error, mean bound / RMS output, max |err|/bound)` of the lut product against
/// the exact one.
fn accuracy(rows: usize, n: usize, bits: usize, batch: usize, seed: u64) -> (f64, f64, f64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let wf: Vec<f32> = (0..rows * n)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let p = greedy_planes(&wf, rows, n, bits);
    let w = LutWeights::from(&p);
    let x: Vec<f32> = (0..batch * n)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let ex = exact(&p, &x, batch);
    let mut out = vec![0.0; batch * rows];
    lut_matmul(&w, &x, batch, &mut out, &mut LutScratch::new(), Par::Auto).unwrap();
    let bound = error_bound(&w, &x, batch).unwrap();
    let (mut e2, mut o2, mut bsum, mut worst) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for ((&o, &e), &b) in out.iter().zip(&ex).zip(&bound) {
        let d = (o - e) as f64;
        e2 += d * d;
        o2 += (e as f64) * (e as f64);
        bsum += b as f64;
        worst = worst.max(d.abs() / b as f64);
    }
    let len = out.len() as f64;
    ((e2 / o2).sqrt(), bsum / len / (o2 / len).sqrt(), worst)
}

#[test]
fn accuracy_on_gaussian_data() {
    // The shape the design docs quote: 4096 × 1024, 2-bit, one vector.
    let (rel, bound_ratio, worst) = accuracy(4096, 1024, 2, 1, 11);
    eprintln!(
        "4096x1024 2-bit: relative RMS error {:.3} %, mean bound / RMS output {bound_ratio:.3}, \
         max |err|/bound {worst:.3}",
        rel * 100.0
    );
    // int8 tables (±127): measured ≈ 0.8 %.
    assert!(rel < 0.012, "relative RMS error {rel}");
    assert!(worst <= 1.0);
    // The bound is a worst case (all group errors of one sign) but not vacuous: below the size
    // of the outputs, and within 50× of the largest error actually seen.
    assert!(bound_ratio < 1.0, "bound / RMS output {bound_ratio}");
    assert!(worst > 0.02, "max |err| / bound {worst}");
    let (rel3, _, _) = accuracy(1200, 600, 3, 3, 12);
    eprintln!(
        "1200x600 3-bit batch 3: relative RMS error {:.3} %",
        rel3 * 100.0
    );
    assert!(rel3 < 0.012, "relative RMS error {rel3}");
}
