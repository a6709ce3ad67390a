//! Closed forms, special rows and bad input.

use burn_amq_kernels::quant::{ActivationQuantizer, Method, quantize, quantize_rows};
use burn_amq_kernels::{AmqError, BitPlanes, Par, words_for};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const SEARCHES: [Method; 7] = [
    Method::Greedy,
    Method::Refined,
    Method::Alternating { cycles: 0 },
    Method::Alternating { cycles: 1 },
    Method::Alternating { cycles: 2 },
    Method::AlternatingRefit { cycles: 2 },
    Method::AlternatingMultiStart { cycles: 2 },
];

fn bit(codes: &BitPlanes, plane: usize, j: usize) -> bool {
    (codes.plane(0, plane)[j / 64] >> (j % 64)) & 1 == 1
}

#[test]
fn one_bit_is_the_closed_form() {
    let mut rng = StdRng::seed_from_u64(8);
    for n in [1, 7, 64, 333] {
        let mut w: Vec<f32> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        w[0] = 0.0; // sign(0) = +1
        let mean = w.iter().map(|&x| f64::from(x.abs())).sum::<f64>() / n as f64;
        for m in SEARCHES
            .into_iter()
            .chain([Method::Alternating { cycles: 4 }])
        {
            let q = quantize(&w, 1, m).unwrap();
            let a = f64::from(q.codes().alphas()[0]);
            assert!((a - mean).abs() <= 1e-6 * mean, "{m}: {a} vs {mean}");
            for (j, &x) in w.iter().enumerate() {
                assert_eq!(bit(q.codes(), 0, j), x >= 0.0, "{m} j={j}");
            }
        }
    }
}

#[test]
fn two_bit_alternating_codes_are_the_closed_form_for_their_alpha() {
    // Paper §1.3: for α₁ ≥ α₂ ≥ 0 the optimal codes are b₁ = sign(w), b₂ = sign(w − α₁b₁).
    let mut rng = StdRng::seed_from_u64(9);
    for _ in 0..30 {
        let n = rng.random_range(2..600);
        let w: Vec<f32> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let q = quantize(&w, 2, Method::alternating()).unwrap();
        let (a1, a2) = (q.codes().alphas()[0], q.codes().alphas()[1]);
        assert!(a1 >= a2 && a2 >= 0.0);
        for (j, &x) in w.iter().enumerate() {
            let b1 = x >= 0.0;
            let r = if b1 { x - a1 } else { x + a1 };
            let b2 = r >= 0.0;
            if (bit(q.codes(), 0, j), bit(q.codes(), 1, j)) != (b1, b2) {
                // Only possible by rounding right at a decision boundary (−α₁, 0, α₁).
                let near = [-a1, 0.0, a1].iter().any(|&t| (x - t).abs() <= 1e-5);
                assert!(near, "n={n} j={j} x={x} a=({a1},{a2})");
            }
        }
    }
}

#[test]
fn zero_rows_are_exact() {
    for n in [1, 3, 64, 65, 200] {
        let w = vec![0.0f32; n];
        for bits in 1..=8 {
            for m in SEARCHES
                .into_iter()
                .chain([Method::Uniform, Method::Balanced])
            {
                let q = quantize(&w, bits, m).unwrap();
                assert!(q.codes().alphas().iter().all(|&a| a == 0.0), "{m}");
                assert!(q.dequantize().iter().all(|&v| v == 0.0), "{m}");
                assert_eq!(q.sq_error(), 0.0);
                assert_eq!(q.relative_error(), 0.0);
                for i in 0..bits {
                    let plane = q.codes().plane(0, i);
                    let ones: u32 = plane.iter().map(|w| w.count_ones()).sum();
                    assert_eq!(ones as usize, n, "{m}: all +1, padding 0");
                }
            }
        }
    }
    // Through the activation quantizer too (the LSTM's h₀).
    let mut aq = ActivationQuantizer::new(100, 2, Method::alternating()).unwrap();
    let (mut a, mut p) = (vec![9.0; 2], vec![0; 2 * words_for(100)]);
    aq.quantize_into(&[0.0; 100], &mut a, &mut p).unwrap();
    assert_eq!(a, [0.0, 0.0]);
}

#[test]
fn constant_rows_are_exact() {
    for c in [1.5f32, -0.1, 3e-7, -42.0] {
        for n in [1, 5, 64, 1000] {
            let w = vec![c; n];
            for bits in 1..=8 {
                for m in SEARCHES {
                    let q = quantize(&w, bits, m).unwrap();
                    let a = q.codes().alphas();
                    assert_eq!(a[0], c.abs(), "{m}");
                    assert!(a[1..].iter().all(|&x| x == 0.0), "{m}");
                    assert!(q.dequantize().iter().all(|&v| v == c), "{m} c={c}");
                    assert_eq!(q.sq_error(), 0.0);
                }
                for m in [Method::Uniform, Method::Balanced] {
                    // Fixed α form: exact up to the f32 rounding of αᵢ = s·2^{k−i}/(2ᵏ−1).
                    let q = quantize(&w, bits, m).unwrap();
                    assert!(q.relative_error() <= 1e-12, "{m}: {}", q.relative_error());
                }
            }
        }
    }
}

#[test]
fn few_distinct_values_and_short_vectors_stay_finite() {
    let cases: [&[f32]; 5] = [
        &[1.0, -1.0],
        &[2.0, 2.0, -2.0, -2.0, 2.0],
        &[0.0, 0.0, 0.0, 1.0],
        &[1e-30, -1e-30, 1e30, 0.0],
        &[3.0, 1.0, 3.0, 1.0, 3.0, 1.0, 3.0],
    ];
    for w in cases {
        for bits in 1..=8 {
            for m in SEARCHES
                .into_iter()
                .chain([Method::Uniform, Method::Balanced])
            {
                let q = quantize(w, bits, m).unwrap();
                assert!(q.codes().alphas().iter().all(|a| a.is_finite()));
                assert!(q.sq_error().is_finite());
                let g = quantize(w, bits, Method::Greedy).unwrap().sq_error();
                if matches!(
                    m,
                    Method::Alternating { .. } | Method::AlternatingMultiStart { .. }
                ) {
                    assert!(q.sq_error() <= g * (1.0 + 1e-5) + 1e-30, "{m} {w:?}");
                }
            }
        }
    }
    // Two distinct values are exact with two bits or more... and already with one bit when
    // symmetric.
    let q = quantize(&[1.0, -1.0, 1.0], 1, Method::alternating()).unwrap();
    assert_eq!(q.sq_error(), 0.0);
    let q = quantize(&[3.0, 1.0, 3.0, 1.0], 2, Method::alternating()).unwrap();
    assert!(q.sq_error() <= 1e-10, "{}", q.sq_error());
}

#[test]
fn bad_input_gives_typed_errors() {
    let ok = [1.0f32, 2.0, 3.0];
    assert!(matches!(
        quantize(&[1.0, f32::NAN], 2, Method::Greedy),
        Err(AmqError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        quantize(&[f32::NEG_INFINITY], 2, Method::Uniform),
        Err(AmqError::NonFinite { index: 0, .. })
    ));
    assert!(matches!(
        quantize(&[1.0, 1e31], 2, Method::Greedy),
        Err(AmqError::InvalidArgument(_))
    ));
    assert!(matches!(
        quantize(&[], 2, Method::Greedy),
        Err(AmqError::Empty { .. })
    ));
    for bits in [0, 9] {
        assert!(matches!(
            quantize(&ok, bits, Method::Greedy),
            Err(AmqError::BitsOutOfRange { .. })
        ));
        assert!(matches!(
            ActivationQuantizer::new(3, bits, Method::Greedy),
            Err(AmqError::BitsOutOfRange { .. })
        ));
    }
    assert!(matches!(
        quantize_rows(&ok, 2, 2, 2, Method::Greedy, Par::Seq),
        Err(AmqError::LengthMismatch { .. })
    ));
    assert!(matches!(
        quantize_rows(&ok, 0, 3, 2, Method::Greedy, Par::Seq),
        Err(AmqError::Empty { .. })
    ));
    for m in [Method::Uniform, Method::Balanced] {
        assert!(matches!(
            ActivationQuantizer::new(3, 2, m),
            Err(AmqError::InvalidArgument(_))
        ));
    }
    assert!(matches!(
        ActivationQuantizer::new(0, 2, Method::Greedy),
        Err(AmqError::Empty { .. })
    ));
    let mut aq = ActivationQuantizer::new(3, 2, Method::alternating()).unwrap();
    let (mut a, mut p) = (vec![0.0; 2], vec![0u64; 2]);
    assert!(aq.quantize_into(&ok, &mut a, &mut p).is_ok());
    assert!(matches!(
        aq.quantize_into(&ok[..2], &mut a, &mut p),
        Err(AmqError::LengthMismatch { .. })
    ));
    assert!(matches!(
        aq.quantize_into(&ok, &mut a[..1], &mut p),
        Err(AmqError::LengthMismatch { .. })
    ));
    assert!(matches!(
        aq.quantize_into(&ok, &mut a, &mut p[..1]),
        Err(AmqError::LengthMismatch { .. })
    ));
    let before = (a.clone(), p.clone());
    assert!(matches!(
        aq.quantize_into(&[1.0, f32::NAN, 0.0], &mut a, &mut p),
        Err(AmqError::NonFinite { index: 1, .. })
    ));
    assert_eq!((a, p), before, "nothing written on error");
    let mut out = BitPlanes::zeros(2, 4, 2).unwrap();
    assert!(matches!(
        aq.quantize_batch_into(&[0.0; 8], &mut out.as_mut()),
        Err(AmqError::ShapeMismatch(_))
    ));
    let mut out = BitPlanes::zeros(2, 3, 2).unwrap();
    assert!(matches!(
        aq.quantize_batch_into(&[0.0; 5], &mut out.as_mut()),
        Err(AmqError::LengthMismatch { .. })
    ));
    assert!(aq.quantize_batch_into(&[0.5; 6], &mut out.as_mut()).is_ok());
}
