//! Every available tier against the reference, on awkward shapes.

mod popcount_common;

use burn_amq_kernels::popcount::{self, reference};
use burn_amq_kernels::{AmqError, BitPlanes, Par, Tier, pack::InterleavedPlanes};
use popcount_common::{assert_close, random_planes, rng, scales};

/// Checks every available tier on one case: exact dots and f32 outputs (sequential and,
/// for multi-block weights, on two threads, which must agree bit for bit).
fn check_case(w: &BitPlanes, x: &BitPlanes, what: &str) {
    let il = InterleavedPlanes::from(w);
    let dots = reference::popcount_dots(w.as_ref(), x.as_ref()).unwrap();
    let mut want = vec![0.0f32; x.rows() * w.rows()];
    reference::popcount_matmul(w.as_ref(), x.as_ref(), &mut want).unwrap();
    let scale = scales(w, x, &dots);
    for tier in Tier::available() {
        let what = format!("{what} tier {tier}");
        let got = popcount::popcount_dots_with(tier, &il, x.as_ref()).unwrap();
        assert!(
            got == dots,
            "{what}: integer dots differ from the reference"
        );
        let mut out = vec![f32::NAN; want.len()];
        popcount::popcount_matmul_with(tier, &il, x.as_ref(), &mut out, Par::Seq).unwrap();
        assert_close(&out, &want, &scale, &what);
        if il.blocks() > 1 {
            let mut out2 = vec![f32::NAN; want.len()];
            popcount::popcount_matmul_with(tier, &il, x.as_ref(), &mut out2, Par::Threads(2))
                .unwrap();
            assert!(
                out.iter()
                    .zip(&out2)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{what}: Par::Threads(2) differs from Par::Seq"
            );
        }
    }
}

#[test]
fn all_bit_pairs_small_shape() {
    let mut g = rng(1);
    for kw in 1..=8 {
        for ka in 1..=8 {
            let w = random_planes(&mut g, 9, 65, kw, true);
            let x = random_planes(&mut g, 3, 65, ka, false);
            check_case(&w, &x, &format!("9x65 {kw}/{ka} batch 3"));
        }
    }
}

#[test]
fn all_bit_pairs_batch_20() {
    let mut g = rng(2);
    for kw in 1..=8 {
        for ka in 1..=8 {
            let w = random_planes(&mut g, 17, 130, kw, false);
            let x = random_planes(&mut g, 20, 130, ka, false);
            check_case(&w, &x, &format!("17x130 {kw}/{ka} batch 20"));
        }
    }
}

#[test]
fn awkward_shapes() {
    let mut g = rng(3);
    let pairs = [
        (1, 1),
        (2, 2),
        (3, 3),
        (2, 3),
        (4, 4),
        (8, 8),
        (5, 7),
        (7, 1),
    ];
    let mut case = 0usize;
    for n in [1, 63, 64, 65, 300, 1000] {
        for rows in [1, 7, 9, 33, 100] {
            for batch in [1, 3, 20] {
                // All pairs on the small shapes, a rotating subset on the large ones.
                let big = n >= 300 && rows >= 33;
                for (p, &(kw, ka)) in pairs.iter().enumerate() {
                    if big && !(p + case).is_multiple_of(4) {
                        continue;
                    }
                    let w = random_planes(&mut g, rows, n, kw, true);
                    let x = random_planes(&mut g, batch, n, ka, false);
                    check_case(&w, &x, &format!("{rows}x{n} {kw}/{ka} batch {batch}"));
                }
                case += 1;
            }
        }
    }
}

#[test]
fn large_batch_is_chunked() {
    // More than `BATCH_CHUNK` items: the driver runs the batch in chunks.
    let mut g = rng(4);
    let batch = popcount::BATCH_CHUNK + 6;
    for (kw, ka) in [(2, 2), (3, 1)] {
        let w = random_planes(&mut g, 20, 100, kw, false);
        let x = random_planes(&mut g, batch, 100, ka, false);
        check_case(&w, &x, &format!("batch {batch} {kw}/{ka}"));
    }
}

#[test]
fn extreme_planes_and_tail_bits() {
    // All +1 weights against all −1 activations: every dot is exactly −n; against
    // themselves exactly +n. Padding stays zero, so the tail words must not count.
    for n in [1usize, 63, 64, 65, 127, 1000, 4000] {
        let words = n.div_ceil(64);
        let mask = popcount_common::tail_mask(n);
        let ones: Vec<u64> = (0..words)
            .map(|k| if k == words - 1 { mask } else { u64::MAX })
            .collect();
        let w_planes: Vec<u64> = (0..9 * 2).flat_map(|_| ones.clone()).collect();
        let w = BitPlanes::from_parts(9, n, 2, vec![1.0; 18], w_planes).unwrap();
        let x_neg = BitPlanes::zeros(2, n, 1).unwrap();
        let x_neg = BitPlanes::from_parts(2, n, 1, vec![1.0, 0.5], x_neg.into_parts().1).unwrap();
        let x_pos = BitPlanes::from_parts(1, n, 1, vec![1.0], ones.clone()).unwrap();
        let il = InterleavedPlanes::from(&w);
        for tier in Tier::available() {
            let d = popcount::popcount_dots_with(tier, &il, x_neg.as_ref()).unwrap();
            assert!(d.iter().all(|&v| v == -(n as i32)), "{tier} n={n}: {d:?}");
            let d = popcount::popcount_dots_with(tier, &il, x_pos.as_ref()).unwrap();
            assert!(d.iter().all(|&v| v == n as i32), "{tier} n={n}");
            let mut out = vec![0.0; 18];
            popcount::popcount_matmul_with(tier, &il, x_neg.as_ref(), &mut out, Par::Seq).unwrap();
            let nf = n as f32;
            assert_eq!(&out[..9], &[-2.0 * nf; 9], "{tier} n={n}");
            assert_eq!(&out[9..], &[-nf; 9], "{tier} n={n}");
        }
        check_case(&w, &x_neg, &format!("extreme n={n}"));
    }
}

#[test]
fn long_rows_flush_byte_counters() {
    // More than 31 words: the byte-counter tiers (AVX2, NEON) flush several times.
    let mut g = rng(10);
    for (kw, ka, batch) in [(2, 2, 1), (1, 3, 4), (3, 2, 2)] {
        let w = random_planes(&mut g, 12, 2500, kw, false);
        let x = random_planes(&mut g, batch, 2500, ka, false);
        check_case(&w, &x, &format!("12x2500 {kw}/{ka} batch {batch}"));
    }
}

#[test]
fn zero_alpha_rows_give_zero() {
    let mut g = rng(5);
    let w = random_planes(&mut g, 33, 300, 3, true);
    let x = random_planes(&mut g, 3, 300, 2, false);
    let il = InterleavedPlanes::from(&w);
    for tier in Tier::available() {
        let mut out = vec![f32::NAN; 3 * 33];
        popcount::popcount_matmul_with(tier, &il, x.as_ref(), &mut out, Par::Seq).unwrap();
        for b in 0..3 {
            for r in (1..33).step_by(3) {
                assert_eq!(out[b * 33 + r], 0.0, "{tier}: row {r} has α = 0");
            }
        }
    }
}

#[test]
fn shape_errors() {
    let mut g = rng(6);
    let w = random_planes(&mut g, 9, 100, 2, false);
    let il = InterleavedPlanes::from(&w);
    let x_bad = random_planes(&mut g, 2, 101, 2, false);
    let x = random_planes(&mut g, 2, 100, 2, false);
    let mut out = vec![0.0; 18];
    for tier in Tier::available() {
        assert!(matches!(
            popcount::popcount_matmul_with(tier, &il, x_bad.as_ref(), &mut out, Par::Seq),
            Err(AmqError::ShapeMismatch(_))
        ));
        assert!(matches!(
            popcount::popcount_dots_with(tier, &il, x_bad.as_ref()),
            Err(AmqError::ShapeMismatch(_))
        ));
        for len in [0, 17, 19] {
            let mut o = vec![0.0; len];
            assert!(matches!(
                popcount::popcount_matmul_with(tier, &il, x.as_ref(), &mut o, Par::Auto),
                Err(AmqError::LengthMismatch { expected: 18, .. })
            ));
        }
    }
    assert!(matches!(
        popcount::popcount_matmul(&il, x_bad.as_ref(), &mut out, Par::Auto),
        Err(AmqError::ShapeMismatch(_))
    ));
    assert!(matches!(
        popcount::popcount_matmul(&il, x.as_ref(), &mut out[..5], Par::Auto),
        Err(AmqError::LengthMismatch { .. })
    ));
    assert!(matches!(
        reference::popcount_matmul(w.as_ref(), x_bad.as_ref(), &mut out),
        Err(AmqError::ShapeMismatch(_))
    ));
    assert!(matches!(
        reference::popcount_matmul(w.as_ref(), x.as_ref(), &mut out[..3]),
        Err(AmqError::LengthMismatch { .. })
    ));
    assert!(matches!(
        reference::popcount_dots(w.as_ref(), x_bad.as_ref()),
        Err(AmqError::ShapeMismatch(_))
    ));
}

#[test]
fn unavailable_tier_is_refused() {
    let mut g = rng(7);
    let w = random_planes(&mut g, 8, 64, 1, false);
    let x = random_planes(&mut g, 1, 64, 1, false);
    let il = InterleavedPlanes::from(&w);
    let mut out = vec![0.0; 8];
    for tier in Tier::ALL.into_iter().filter(|t| !t.is_available()) {
        assert!(matches!(
            popcount::popcount_matmul_with(tier, &il, x.as_ref(), &mut out, Par::Seq),
            Err(AmqError::TierUnavailable(_))
        ));
        assert!(matches!(
            popcount::popcount_dots_with(tier, &il, x.as_ref()),
            Err(AmqError::TierUnavailable(_))
        ));
    }
}

#[test]
fn default_entry_point_matches_active_tier() {
    let mut g = rng(8);
    let w = random_planes(&mut g, 100, 1000, 2, false);
    let x = random_planes(&mut g, 3, 1000, 2, false);
    let il = InterleavedPlanes::from(&w);
    let tier = popcount::active_tier();
    assert_eq!(tier, Tier::active());
    let mut a = vec![0.0; 300];
    let mut b = vec![0.0; 300];
    popcount::popcount_matmul(&il, x.as_ref(), &mut a, Par::Auto).unwrap();
    popcount::popcount_matmul_with(tier, &il, x.as_ref(), &mut b, Par::Seq).unwrap();
    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
}

#[test]
fn interleaved_round_trip() {
    let mut g = rng(9);
    for (rows, n, bits) in [
        (1, 1, 1),
        (7, 63, 8),
        (9, 65, 3),
        (33, 300, 2),
        (100, 1000, 4),
    ] {
        let p = random_planes(&mut g, rows, n, bits, true);
        let il = InterleavedPlanes::from_planes(p.as_ref());
        assert_eq!(il.to_bit_planes(), p);
        assert_eq!((il.rows(), il.n(), il.bits()), (rows, n, bits));
        assert_eq!(il.words(), n.div_ceil(64));
        assert_eq!(il.blocks(), rows.div_ceil(8));
        assert_eq!(
            il.packed_bytes(),
            rows * bits * n.div_ceil(64) * 8 + rows * bits * 4
        );
    }
}
