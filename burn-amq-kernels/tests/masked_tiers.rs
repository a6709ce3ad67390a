//! Masked-sum product: every tier against the portable tier (bit-exact) and the f64
//! reference (within `error_bound`), on awkward shapes; padding, threading, errors, the
//! forced tier, and accuracy against a plain f32 product of the dequantized weights.
//!
//! Tolerance: the kernel's only errors are f32 roundings in its sums, so it is compared with
//! the reference through the rigorous bound `error_bound` (derived in `masked/mod.rs`: about
//! `(3⌈n/16⌉ + 10)·u·Σᵢ|αᵢ|·Σⱼ|xⱼ|`, `u = 2⁻²⁴`), plus `ε·|reference|` because the
//! reference itself is rounded to f32 once. A wrong sign, bit or column gives an error of the
//! order of `|αᵢ xⱼ|`, above the bound (`one_flipped_bit_is_caught_by_the_tolerance` checks
//! that the tolerance does fail on such an error).

use std::process::Command;

use burn_amq_kernels::masked::{
    self, BATCH_CHUNK, error_bound, masked_matmul, masked_matmul_with, reference,
};
use burn_amq_kernels::tier::TIER_ENV;
use burn_amq_kernels::{AmqError, BitPlanes, BitPlanesRef, Par, Tier, words_for};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// Mask of the valid bits of the last word of an `n`-bit plane.
fn tail_mask(n: usize) -> u64 {
    match n % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

/// Random planes (padding bits zero) with α from a few regimes; with `zero_rows`, every fifth
/// row has α = 0.
fn random_planes(
    rng: &mut StdRng,
    rows: usize,
    n: usize,
    bits: usize,
    zero_rows: bool,
) -> BitPlanes {
    let words = words_for(n);
    let planes: Vec<u64> = (0..rows * bits * words)
        .map(|i| {
            let w: u64 = rng.random();
            if i % words == words - 1 {
                w & tail_mask(n)
            } else {
                w
            }
        })
        .collect();
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
            alphas.push(if zero_rows && r % 5 == 3 { 0.0 } else { a });
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
            x.push(match (b + n) % 6 {
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
                4 => (rng.random_range(-8..8) as f32) * 0.25, // exact sums
                _ => g * if j % 2 == 0 { 1e-20 } else { 1e-41 }, // subnormal
            });
        }
    }
    x
}

fn exact(w: BitPlanesRef<'_>, x: &[f32], batch: usize) -> Vec<f32> {
    let mut out = vec![0.0; batch * w.rows()];
    reference::masked_matmul(w, x, batch, &mut out).unwrap();
    out
}

/// Indices of the outputs outside the tolerance `bound + ε·|want|` (a NaN is outside).
fn violations(got: &[f32], want: &[f32], bound: &[f32]) -> Vec<usize> {
    assert!(got.len() == want.len() && got.len() == bound.len());
    (0..got.len())
        .filter(|&i| {
            let tol = f64::from(bound[i]) * (1.0 + 1e-6)
                + f64::from(want[i].abs()) * f64::from(f32::EPSILON);
            let err = (f64::from(got[i]) - f64::from(want[i])).abs();
            err.is_nan() || err > tol
        })
        .collect()
}

/// Asserts every output is within the tolerance (see [`violations`]).
fn assert_within_bound(got: &[f32], want: &[f32], bound: &[f32], what: &str) {
    if let Some(&i) = violations(got, want, bound).first() {
        panic!(
            "{what} out[{i}]: masked {}, exact {}, bound {}",
            got[i], want[i], bound[i]
        );
    }
}

/// Every available tier on one case: the portable tier within the bound of the reference,
/// every tier bit-identical to the portable one.
fn check_case(w: &BitPlanes, x: &[f32], batch: usize, what: &str) {
    let rows = w.rows();
    let ex = exact(w.as_ref(), x, batch);
    let bound = error_bound(w.as_ref(), x, batch).unwrap();
    let mut base = vec![f32::NAN; batch * rows];
    masked_matmul_with(Tier::Portable, w.as_ref(), x, batch, &mut base, Par::Seq).unwrap();
    assert_within_bound(&base, &ex, &bound, what);
    for tier in Tier::available() {
        let mut out = vec![f32::NAN; batch * rows];
        masked_matmul_with(tier, w.as_ref(), x, batch, &mut out, Par::Seq).unwrap();
        for (i, (o, b)) in out.iter().zip(&base).enumerate() {
            assert_eq!(
                o.to_bits(),
                b.to_bits(),
                "{what} tier {tier} out[{i}]: {o} vs portable {b}"
            );
        }
    }
}

#[test]
fn every_tier_matches_portable_and_reference_on_awkward_shapes() {
    let mut rng = StdRng::seed_from_u64(1);
    let ns = [1, 15, 16, 17, 63, 64, 65, 300, 1000];
    let rows = [1, 7, 9, 33, 100];
    // 70 > BATCH_CHUNK = 64 > every tile (4 items at most).
    let batches = [1, 3, 20, 70];
    const { assert!(70 > BATCH_CHUNK) };
    let mut case = 0usize;
    for &n in &ns {
        for &r in &rows {
            for bits in 1..=8 {
                let mut batch = batches[case % batches.len()];
                // Keep the debug-profile run short: large × large × batch 70 only sometimes.
                if r * n * bits * batch > 2_000_000 && !case.is_multiple_of(3) {
                    batch = 3;
                }
                let w = random_planes(&mut rng, r, n, bits, true);
                let x = random_x(&mut rng, batch, n);
                check_case(&w, &x, batch, &format!("{r}x{n} {bits}-bit batch {batch}"));
                case += 1;
            }
        }
    }
}

#[test]
fn every_tail_length() {
    // Every n % 16 (the masked tail chunk: AVX2 splits it at 8 lanes), both sides of the
    // word boundaries, and rows crossing a 16-row block.
    let mut rng = StdRng::seed_from_u64(10);
    for n in (1..=48).chain([127, 128, 129, 191, 193]) {
        let w = random_planes(&mut rng, 17, n, 2, false);
        let x = random_x(&mut rng, 2, n);
        check_case(&w, &x, 2, &format!("17x{n} 2-bit batch 2"));
    }
}

#[test]
fn every_batch_size_around_the_tiles_and_chunks() {
    let mut rng = StdRng::seed_from_u64(2);
    let w = random_planes(&mut rng, 19, 37, 3, false);
    for batch in (1..=9).chain([63, 64, 65, 129]) {
        let x = random_x(&mut rng, batch, 37);
        check_case(&w, &x, batch, &format!("19x37 3-bit batch {batch}"));
    }
}

#[test]
fn small_integer_cases_are_exact() {
    // Integer x and power-of-two α: every sum is exact, so every tier must give exactly the
    // reference value; this pins the bit convention (bit 1 = +1) and the column order.
    let mut rng = StdRng::seed_from_u64(3);
    for &(rows, n, bits) in &[(5, 1, 1), (9, 17, 2), (33, 65, 3), (18, 300, 8)] {
        let words = words_for(n);
        let planes: Vec<u64> = (0..rows * bits * words)
            .map(|i| {
                rng.random::<u64>()
                    & if i % words == words - 1 {
                        tail_mask(n)
                    } else {
                        !0
                    }
            })
            .collect();
        let alphas: Vec<f32> = (0..rows * bits)
            .map(|i| 0.5f32.powi((i % bits) as i32))
            .collect();
        let w = BitPlanes::from_parts(rows, n, bits, alphas, planes).unwrap();
        let x: Vec<f32> = (0..2 * n)
            .map(|_| rng.random_range(-50..50) as f32)
            .collect();
        let ex = exact(w.as_ref(), &x, 2);
        // Spot check against a dequantize-and-dot written out here.
        let dq = w.dequantize();
        for r in 0..rows {
            let dot: f64 = (0..n)
                .map(|j| f64::from(dq[r * n + j]) * f64::from(x[j]))
                .sum();
            assert_eq!(ex[r], dot as f32);
        }
        for tier in Tier::available() {
            let mut out = vec![f32::NAN; 2 * rows];
            masked_matmul_with(tier, w.as_ref(), &x, 2, &mut out, Par::Seq).unwrap();
            assert_eq!(out, ex, "{tier} {rows}x{n} {bits}-bit");
        }
    }
}

#[test]
fn one_flipped_bit_is_caught_by_the_tolerance() {
    // The tolerance must be tight enough to see a single wrong code bit (an error of
    // 2·αᵢ·xⱼ): flip one bit of the last (smallest-α) plane of every row and check the
    // kernel's output on the flipped weights falls outside the tolerance of the original
    // reference, for |xⱼ| >= 0.5.
    let mut rng = StdRng::seed_from_u64(4);
    for &n in &[1, 15, 17, 65, 300, 1000] {
        let (rows, bits) = (8, 3);
        let w = random_planes(&mut rng, rows, n, bits, false);
        let x: Vec<f32> = (0..n)
            .map(|_| {
                let v: f32 = StandardNormal.sample(&mut rng);
                v.signum() * v.abs().max(0.5)
            })
            .collect();
        let ex = exact(w.as_ref(), &x, 1);
        let bound = error_bound(w.as_ref(), &x, 1).unwrap();
        let words = words_for(n);
        let mut planes = w.planes().to_vec();
        for r in 0..rows {
            let j = rng.random_range(0..n);
            planes[(r * bits + bits - 1) * words + j / 64] ^= 1 << (j % 64);
        }
        let flipped = BitPlanesRef::new(rows, n, bits, w.alphas(), &planes).unwrap();
        for tier in Tier::available() {
            let mut out = vec![0.0; rows];
            masked_matmul_with(tier, flipped, &x, 1, &mut out, Par::Seq).unwrap();
            let caught = violations(&out, &ex, &bound);
            assert_eq!(
                caught.len(),
                rows,
                "{tier} n {n}: only rows {caught:?} caught"
            );
        }
    }
}

#[test]
fn padding_bits_are_ignored() {
    // `BitPlanesRef::new` does not check the padding; set bits there must not leak in.
    let mut rng = StdRng::seed_from_u64(5);
    for &n in &[1, 15, 17, 65, 100] {
        let (rows, bits, batch) = (11, 3, 3);
        let clean = random_planes(&mut rng, rows, n, bits, false);
        let words = words_for(n);
        let mut dirty = clean.planes().to_vec();
        for (i, w) in dirty.iter_mut().enumerate() {
            if i % words == words - 1 {
                *w |= !tail_mask(n);
            }
        }
        let dirty = BitPlanesRef::new(rows, n, bits, clean.alphas(), &dirty).unwrap();
        let x = random_x(&mut rng, batch, n);
        let ex = exact(clean.as_ref(), &x, batch);
        let bound = error_bound(clean.as_ref(), &x, batch).unwrap();
        for tier in Tier::available() {
            let mut a = vec![0.0; batch * rows];
            let mut b = vec![1.0; batch * rows];
            masked_matmul_with(tier, clean.as_ref(), &x, batch, &mut a, Par::Seq).unwrap();
            masked_matmul_with(tier, dirty, &x, batch, &mut b, Par::Seq).unwrap();
            assert_eq!(a, b, "{tier} n {n}");
            assert_within_bound(&b, &ex, &bound, &format!("{tier} n {n} dirty padding"));
        }
    }
}

#[test]
fn threads_give_the_same_result() {
    let mut rng = StdRng::seed_from_u64(6);
    let (rows, n, bits, batch) = (300, 500, 3, 5);
    let w = random_planes(&mut rng, rows, n, bits, false);
    let x = random_x(&mut rng, batch, n);
    let mut base = vec![0.0; batch * rows];
    masked_matmul_with(Tier::Portable, w.as_ref(), &x, batch, &mut base, Par::Seq).unwrap();
    for tier in Tier::available() {
        for par in [Par::Threads(2), Par::Threads(3), Par::Auto] {
            for _ in 0..3 {
                let mut out = vec![f32::NAN; batch * rows];
                masked_matmul_with(tier, w.as_ref(), &x, batch, &mut out, par).unwrap();
                assert_eq!(out, base, "{tier} {par:?}");
            }
        }
    }
    let mut out = vec![f32::NAN; batch * rows];
    masked_matmul(w.as_ref(), &x, batch, &mut out, Par::Auto).unwrap();
    assert_eq!(out, base);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut rng = StdRng::seed_from_u64(7);
    let w = random_planes(&mut rng, 9, 10, 2, false);
    let w = w.as_ref();
    let x = vec![1.0f32; 20];
    let mut out = vec![0.0f32; 18];
    assert!(matches!(
        masked_matmul(w, &x[..19], 2, &mut out, Par::Seq),
        Err(AmqError::LengthMismatch { what: "x", .. })
    ));
    assert!(matches!(
        masked_matmul(w, &x, 2, &mut out[..17], Par::Seq),
        Err(AmqError::LengthMismatch { what: "out", .. })
    ));
    assert!(matches!(
        masked_matmul(w, &[], 0, &mut [], Par::Seq),
        Err(AmqError::Empty { what: "batch" })
    ));
    assert!(matches!(
        masked_matmul(w, &x, usize::MAX, &mut out, Par::Seq),
        Err(AmqError::InvalidArgument(_))
    ));
    assert!(matches!(
        error_bound(w, &[], 0),
        Err(AmqError::Empty { .. })
    ));
    assert!(matches!(
        error_bound(w, &x[..3], 2),
        Err(AmqError::LengthMismatch { what: "x", .. })
    ));
    assert!(matches!(
        reference::masked_matmul(w, &x, 2, &mut out[..3]),
        Err(AmqError::LengthMismatch { what: "out", .. })
    ));
    assert!(matches!(
        reference::masked_matmul(w, &[], 0, &mut []),
        Err(AmqError::Empty { .. })
    ));
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut xb = x.clone();
        xb[13] = bad;
        for tier in Tier::available() {
            let mut o = vec![7.0f32; 18];
            let r = masked_matmul_with(tier, w, &xb, 2, &mut o, Par::Seq);
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
            assert!(o.iter().all(|&v| v == 7.0), "{tier}: out was written");
        }
        assert!(matches!(
            error_bound(w, &xb, 2),
            Err(AmqError::NonFinite { index: 13, .. })
        ));
        let mut o = vec![0.0; 18];
        assert!(matches!(
            reference::masked_matmul(w, &xb, 2, &mut o),
            Err(AmqError::NonFinite { index: 13, .. })
        ));
    }
    // Huge but finite x is accepted (the sums may overflow to ±∞; that is not an input error).
    let xh = vec![f32::MAX; 20];
    masked_matmul(w, &xh, 2, &mut out, Par::Seq).unwrap();
    #[cfg(target_arch = "x86_64")]
    assert!(matches!(
        masked_matmul_with(Tier::Neon, w, &x, 2, &mut out, Par::Seq),
        Err(AmqError::TierUnavailable("neon"))
    ));
}

#[test]
fn extreme_codes() {
    // All +1 and all −1 planes: out = ±Σα·S exactly for integer x.
    for &n in &[1, 16, 65, 1000] {
        let (rows, bits) = (9, 2);
        let words = words_for(n);
        let mut planes = vec![0u64; rows * bits * words];
        for r in (0..rows).step_by(2) {
            for i in 0..bits {
                let p = &mut planes[(r * bits + i) * words..(r * bits + i + 1) * words];
                p.fill(u64::MAX);
                p[words - 1] &= tail_mask(n);
            }
        }
        let w = BitPlanes::from_parts(rows, n, bits, [1.0, 0.5].repeat(rows), planes).unwrap();
        let x: Vec<f32> = (0..n).map(|j| (j % 7) as f32 - 3.0).collect();
        let s: f32 = x.iter().sum();
        for tier in Tier::available() {
            let mut out = vec![0.0; rows];
            masked_matmul_with(tier, w.as_ref(), &x, 1, &mut out, Par::Seq).unwrap();
            for (r, &o) in out.iter().enumerate() {
                let want = if r % 2 == 0 { 1.5 * s } else { -1.5 * s };
                assert_eq!(o, want, "{tier} n {n} row {r}");
            }
        }
    }
}

/// Greedy binary coding of a row (test helper): `bᵢ = sign(residual)`, `αᵢ = mean |residual|`.
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

#[test]
fn as_accurate_as_an_f32_product_of_the_dequantized_weights() {
    // The fake-quantized forward multiplies the dequantized f32 weights with x in f32. On
    // Gaussian data, the masked product's error against the exact product is no larger
    // (float rounding only; measured ≈ 2e-7 against ≈ 6e-7 relative RMS).
    let (rows, n, bits, batch) = (512, 1024, 2, 2);
    let mut rng = StdRng::seed_from_u64(8);
    let wf: Vec<f32> = (0..rows * n)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let w = greedy_planes(&wf, rows, n, bits);
    let x: Vec<f32> = (0..batch * n)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let ex = exact(w.as_ref(), &x, batch);
    let mut out = vec![0.0; batch * rows];
    masked_matmul(w.as_ref(), &x, batch, &mut out, Par::Auto).unwrap();
    let dq = w.dequantize();
    let naive: Vec<f32> = (0..batch)
        .flat_map(|b| {
            let (dq, x) = (&dq, &x);
            (0..rows).map(move |r| {
                let row = &dq[r * n..(r + 1) * n];
                row.iter()
                    .zip(&x[b * n..(b + 1) * n])
                    .map(|(a, b)| a * b)
                    .sum::<f32>()
            })
        })
        .collect();
    let rms = |v: &[f32]| {
        let (mut e2, mut o2) = (0.0f64, 0.0f64);
        for (&o, &e) in v.iter().zip(&ex) {
            e2 += (f64::from(o) - f64::from(e)).powi(2);
            o2 += f64::from(e).powi(2);
        }
        (e2 / o2).sqrt()
    };
    let (rel, rel_naive) = (rms(&out), rms(&naive));
    eprintln!("relative RMS error: masked {rel:.3e}, f32 dequantized dot {rel_naive:.3e}");
    assert!(rel < 1e-6, "masked relative RMS error {rel}");
    assert!(
        rel <= 2.0 * rel_naive,
        "masked {rel} vs f32 product {rel_naive}"
    );
}

/// Set in the child: the tier the parent forced.
const EXPECT_ENV: &str = "AMQ_MASKED_TEST_EXPECT";

#[test]
fn child_reports_tier() {
    let Ok(expect) = std::env::var(EXPECT_ENV) else {
        return; // Run directly: nothing to check (the parent test drives this one).
    };
    let expect = Tier::parse(&expect).unwrap();
    assert_eq!(masked::active_tier(), expect);
    let mut rng = StdRng::seed_from_u64(9);
    let w = random_planes(&mut rng, 9, 130, 2, false);
    let x = random_x(&mut rng, 2, 130);
    let (mut a, mut b) = (vec![0.0; 18], vec![1.0; 18]);
    masked_matmul(w.as_ref(), &x, 2, &mut a, Par::Seq).unwrap();
    masked_matmul_with(expect, w.as_ref(), &x, 2, &mut b, Par::Seq).unwrap();
    assert_eq!(a, b);
    println!("child saw tier {expect}");
}

#[test]
fn forced_tier_is_honoured() {
    let exe = std::env::current_exe().unwrap();
    for tier in Tier::available() {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "child_reports_tier",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(TIER_ENV, tier.name())
            .env(EXPECT_ENV, tier.name())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "forced {tier}: child failed\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("child saw tier {tier}")),
            "forced {tier}: the child did not run\n{stdout}"
        );
    }
}
