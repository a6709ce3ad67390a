//! Packed inference against the layers' own fake-quantized forward on Flex.

use burn::nn::LstmState;
use burn::prelude::*;
use burn_amq::Error;
use burn_amq::nn::{QuantLinearConfig, QuantLstm, QuantLstmConfig};
use burn_amq::packed::{PackOptions, PackedLstmState, WeightsOnlyProduct};

use crate::common::{gaussian, reseeded, values};

/// Popcount path: packed == fake-quantized forward up to this fraction of the output scale.
const POPCOUNT_REL_TOL: f32 = 1e-4;

fn scale(v: &[f32]) -> f32 {
    v.iter().fold(1e-6f32, |m, x| m.max(x.abs()))
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn linear_popcount_matches_fake_quantized_forward() {
    let device = Device::flex();
    device.seed(3);
    let mut worst = 0.0f32;
    for wbits in 1..=4 {
        for abits in 1..=4 {
            let layer = QuantLinearConfig::new(37, 11)
                .with_weight_bits(Some(wbits))
                .with_act_bits(Some(abits))
                .init(&device)
                .map(|l| reseeded(l, 1))
                .unwrap();
            let mut packed = layer.pack().unwrap();
            assert!(packed.quantizes_input());
            assert_eq!((packed.d_input(), packed.d_output()), (37, 11));
            for batch in [1usize, 3] {
                let x = gaussian([batch, 37], 100 + (wbits * 10 + abits) as u64, &device);
                let expected = values(&layer.forward(x.clone()));
                let mut out = vec![0.0; batch * 11];
                packed.forward(&values(&x), batch, &mut out).unwrap();
                let rel = max_diff(&out, &expected) / scale(&expected);
                worst = worst.max(rel);
                assert!(
                    rel <= POPCOUNT_REL_TOL,
                    "w{wbits} a{abits} b{batch}: rel {rel}"
                );
            }
        }
    }
    println!("linear popcount: worst relative difference {worst:e}");
}

#[test]
fn linear_exact_weights_only_matches_fake_quantized_forward() {
    let device = Device::flex();
    device.seed(4);
    let mut worst = 0.0f32;
    for wbits in 1..=4 {
        let layer = QuantLinearConfig::new(70, 9)
            .with_weight_bits(Some(wbits))
            .init(&device)
            .map(|l| reseeded(l, 2))
            .unwrap();
        let mut packed = layer.pack().unwrap();
        assert!(!packed.quantizes_input());
        assert_eq!(packed.lookup_error_bound(&[0.0; 70], 1).unwrap(), None);
        for batch in [1usize, 3] {
            let x = gaussian([batch, 70], 200 + wbits as u64, &device);
            let expected = values(&layer.forward(x.clone()));
            let mut out = vec![0.0; batch * 9];
            packed.forward(&values(&x), batch, &mut out).unwrap();
            let rel = max_diff(&out, &expected) / scale(&expected);
            worst = worst.max(rel);
            assert!(rel <= EXACT_REL_TOL, "w{wbits} b{batch}: rel {rel}");
        }
    }
    println!("linear exact weights-only: worst relative difference {worst:e}");
}

/// Exact weights-only product: packed == fake-quantized forward up to this fraction of the
/// output scale (f32 rounding of two different summation orders).
const EXACT_REL_TOL: f32 = 1e-5;

#[test]
fn linear_lookup_is_within_the_lookup_error_bound() {
    let device = Device::flex();
    device.seed(4);
    let mut worst = 0.0f32;
    for wbits in 1..=4 {
        let layer = QuantLinearConfig::new(70, 9)
            .with_weight_bits(Some(wbits))
            .init(&device)
            .map(|l| reseeded(l, 2))
            .unwrap();
        let lookup = PackOptions::default().with_weights_only(WeightsOnlyProduct::Lookup);
        let mut packed = layer.pack_with(&lookup).unwrap();
        assert!(!packed.quantizes_input());
        for batch in [1usize, 3] {
            let x = gaussian([batch, 70], 200 + wbits as u64, &device);
            let xv = values(&x);
            let expected = values(&layer.forward(x));
            let mut out = vec![0.0; batch * 9];
            packed.forward(&xv, batch, &mut out).unwrap();
            let bound = packed.lookup_error_bound(&xv, batch).unwrap().unwrap();
            // The bound covers the lookup product; the f32 reference matmul and the bias
            // addition add float rounding on top.
            let slack = 1e-5 * scale(&expected);
            for ((o, e), b) in out.iter().zip(&expected).zip(&bound) {
                assert!(
                    (o - e).abs() <= b + slack,
                    "w{wbits} b{batch}: {o} vs {e} (bound {b})"
                );
                worst = worst.max((o - e).abs() / b);
            }
        }
    }
    println!("linear lookup: worst |diff| / bound {worst:.3}");
}

#[test]
fn linear_without_bias_and_bad_input() {
    let device = Device::flex();
    let layer = QuantLinearConfig::new(5, 2)
        .with_bias(false)
        .with_act_bits(Some(2))
        .init(&device)
        .map(|l| reseeded(l, 3))
        .unwrap();
    let mut packed = layer.pack().unwrap();
    let x = gaussian([2, 5], 9, &device);
    let mut out = vec![0.0; 4];
    packed.forward(&values(&x), 2, &mut out).unwrap();
    let expected = values(&layer.forward(x));
    assert!(max_diff(&out, &expected) <= POPCOUNT_REL_TOL * scale(&expected));

    assert!(matches!(
        packed.forward(&[0.0; 4], 1, &mut out[..2]),
        Err(Error::LengthMismatch { what: "x", .. })
    ));
    assert!(matches!(
        packed.forward(&[0.0; 5], 1, &mut out[..3]),
        Err(Error::LengthMismatch { what: "out", .. })
    ));
    assert_eq!(
        packed.forward(&[], 0, &mut []),
        Err(Error::ZeroDimension { what: "batch" })
    );
    let mut nan = [0.0f32; 5];
    nan[2] = f32::NAN;
    assert!(matches!(
        packed.forward(&nan, 1, &mut out[..2]),
        Err(Error::Kernel(_))
    ));
}

#[test]
fn full_precision_layers_do_not_pack() {
    let device = Device::flex();
    let linear = QuantLinearConfig::new(3, 2)
        .with_weight_bits(None)
        .init(&device)
        .map(|l| reseeded(l, 4))
        .unwrap();
    assert_eq!(
        linear.pack().unwrap_err(),
        Error::NotQuantized {
            layer: "QuantLinear"
        }
    );
    let lstm = QuantLstmConfig::new(3, 2, true)
        .with_weight_bits(None)
        .with_act_bits(Some(2))
        .init(&device)
        .map(|l| reseeded(l, 5))
        .unwrap();
    assert_eq!(
        lstm.pack().unwrap_err(),
        Error::NotQuantized { layer: "QuantLstm" }
    );
}

const D_IN: usize = 5;
const H: usize = 3;
const SEQ: usize = 4;

fn lstm(wbits: usize, abits: Option<usize>, quantize_input: bool, device: &Device) -> QuantLstm {
    QuantLstmConfig::new(D_IN, H, true)
        .with_weight_bits(Some(wbits))
        .with_act_bits(abits)
        .with_quantize_input(quantize_input)
        .init(device)
        .map(|l| reseeded(l, 6))
        .unwrap()
}

/// Largest |packed − layer| over all outputs and the final state, for batch 1 and 3, with and
/// without an initial state.
fn lstm_difference(layer: &QuantLstm, seed: u64, device: &Device) -> f32 {
    lstm_difference_with(layer, &PackOptions::default(), seed, device)
}

fn lstm_difference_with(
    layer: &QuantLstm,
    options: &PackOptions,
    seed: u64,
    device: &Device,
) -> f32 {
    let mut packed = layer.pack_with(options).unwrap();
    let mut worst = 0.0f32;
    for batch in [1usize, 3] {
        let x = gaussian([batch, SEQ, D_IN], seed + batch as u64, device);
        for with_state in [false, true] {
            let state = with_state.then(|| {
                LstmState::new(
                    gaussian([batch, H], seed + 50, device),
                    gaussian([batch, H], seed + 60, device).tanh(),
                )
            });
            let packed_state = state
                .as_ref()
                .map(|s| PackedLstmState::from_lstm_state(s).unwrap());
            let (expected, expected_state) = layer.forward(x.clone(), state);
            let (out, final_state) = packed
                .forward(&values(&x), batch, SEQ, packed_state.as_ref())
                .unwrap();
            worst = worst
                .max(max_diff(&out, &values(&expected)))
                .max(max_diff(
                    final_state.hidden(),
                    &values(&expected_state.hidden),
                ))
                .max(max_diff(final_state.cell(), &values(&expected_state.cell)));
        }
    }
    worst
}

#[test]
fn lstm_popcount_matches_fake_quantized_forward() {
    let device = Device::flex();
    device.seed(5);
    let mut worst = 0.0f32;
    for wbits in 1..=4 {
        for abits in 1..=4 {
            let layer = lstm(wbits, Some(abits), true, &device);
            let d = lstm_difference(&layer, 300 + (wbits * 10 + abits) as u64, &device);
            // Hidden states are in (−1, 1) and cells of order 1: an absolute tolerance is
            // relative to the output scale.
            assert!(d <= POPCOUNT_REL_TOL, "w{wbits} a{abits}: max diff {d}");
            worst = worst.max(d);
        }
    }
    println!("lstm popcount: worst difference {worst:e}");
}

/// Weights-only LSTM with the lookup product: the int8 tables (≈ 0.9 % relative error on
/// the gate pre-activations) perturb every step; this tolerance is a few times the observed
/// worst.
const LSTM_LOOKUP_TOL: f32 = 0.03;

#[test]
fn lstm_weights_only_matches_fake_quantized_forward() {
    let device = Device::flex();
    device.seed(6);
    let lookup = PackOptions::default().with_weights_only(WeightsOnlyProduct::Lookup);
    let (mut worst_exact, mut worst_lookup) = (0.0f32, 0.0f32);
    for wbits in 1..=4 {
        let layer = lstm(wbits, None, true, &device);
        let d = lstm_difference(&layer, 400 + wbits as u64, &device);
        assert!(d <= POPCOUNT_REL_TOL, "exact w{wbits}: max diff {d}");
        worst_exact = worst_exact.max(d);
        let d = lstm_difference_with(&layer, &lookup, 400 + wbits as u64, &device);
        assert!(d <= LSTM_LOOKUP_TOL, "lookup w{wbits}: max diff {d}");
        worst_lookup = worst_lookup.max(d);
    }
    // Quantized hidden state, full-precision input (input from a QuantEmbedding): a
    // weights-only input product and a popcount recurrent product.
    let layer = lstm(2, Some(2), false, &device);
    let d = lstm_difference(&layer, 450, &device);
    assert!(d <= POPCOUNT_REL_TOL, "mixed exact: max diff {d}");
    let d_lookup = lstm_difference_with(&layer, &lookup, 450, &device);
    assert!(
        d_lookup <= LSTM_LOOKUP_TOL,
        "mixed lookup: max diff {d_lookup}"
    );
    println!(
        "lstm weights-only: worst difference exact {worst_exact:e}, lookup {worst_lookup:e}; \
         mixed exact {d:e}, lookup {d_lookup:e}"
    );
}

#[test]
fn lstm_step_api_equals_sequence_api() {
    let device = Device::flex();
    device.seed(7);
    for abits in [None, Some(2)] {
        let layer = lstm(2, abits, true, &device);
        let mut packed = layer.pack().unwrap();
        assert_eq!((packed.d_input(), packed.d_hidden()), (D_IN, H));
        let batch = 3;
        let x = values(&gaussian([batch, SEQ, D_IN], 77, &device));
        let (outputs, final_state) = packed.forward(&x, batch, SEQ, None).unwrap();
        let mut state = PackedLstmState::zeros(batch, H);
        let mut xt = vec![0.0; batch * D_IN];
        for t in 0..SEQ {
            for b in 0..batch {
                xt[b * D_IN..][..D_IN].copy_from_slice(&x[(b * SEQ + t) * D_IN..][..D_IN]);
            }
            packed.step(&xt, &mut state).unwrap();
            for b in 0..batch {
                assert_eq!(
                    state.hidden()[b * H..][..H],
                    outputs[(b * SEQ + t) * H..][..H]
                );
            }
        }
        assert_eq!(state, final_state);
    }
}

#[test]
fn lstm_bad_input_is_rejected() {
    let device = Device::flex();
    let mut packed = lstm(2, Some(2), true, &device).pack().unwrap();
    assert!(matches!(
        packed.forward(&[0.0; 7], 1, 2, None),
        Err(Error::LengthMismatch { what: "x", .. })
    ));
    assert_eq!(
        packed.forward(&[], 0, 2, None).unwrap_err(),
        Error::ZeroDimension { what: "batch" }
    );
    let other = PackedLstmState::zeros(2, H);
    assert!(matches!(
        packed.forward(&[0.0; D_IN], 1, 1, Some(&other)),
        Err(Error::LengthMismatch {
            what: "state batch",
            ..
        })
    ));
    let mut wrong_h = PackedLstmState::zeros(1, H + 1);
    assert!(matches!(
        packed.step(&[0.0; D_IN], &mut wrong_h),
        Err(Error::LengthMismatch {
            what: "state d_hidden",
            ..
        })
    ));
    let mut state = PackedLstmState::zeros(1, H);
    assert!(matches!(
        packed.step(&[0.0; D_IN + 1], &mut state),
        Err(Error::LengthMismatch { what: "x", .. })
    ));
    let mut nan = [0.0f32; D_IN];
    nan[0] = f32::INFINITY;
    assert!(matches!(
        packed.step(&nan, &mut state),
        Err(Error::Kernel(_))
    ));
    assert_eq!(state, PackedLstmState::zeros(1, H));
    assert!(matches!(
        PackedLstmState::new(1, H, vec![0.0; H], vec![0.0; H - 1]),
        Err(Error::LengthMismatch { what: "cell", .. })
    ));
    // Empty sequences return the initial state.
    let (out, s) = packed.forward(&[], 2, 0, None).unwrap();
    assert!(out.is_empty());
    assert_eq!(s, PackedLstmState::zeros(2, H));
}

#[test]
fn embedding_lookup_matches_forward() {
    use burn::tensor::{Int, TensorData};
    use burn_amq::nn::QuantEmbeddingConfig;
    let device = Device::flex();
    device.seed(12);
    for bits in 1..=4 {
        let layer = QuantEmbeddingConfig::new(10, 7)
            .with_weight_bits(Some(bits))
            .init(&device)
            .map(|l| reseeded(l, 7))
            .unwrap();
        let packed = layer.pack().unwrap();
        assert_eq!((packed.n_embedding(), packed.d_model()), (10, 7));
        let idx = [3usize, 0, 9, 3, 5, 1];
        let ids: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
        let indices = Tensor::<2, Int>::from_data(TensorData::new(ids, [2, 3]), &device);
        let expected = values(&layer.forward(indices));
        let mut out = vec![0.0; idx.len() * 7];
        packed.lookup(&idx, &mut out).unwrap();
        let d = max_diff(&out, &expected);
        assert!(d <= 1e-6 * scale(&expected), "bits {bits}: {d}");
        assert_eq!(
            packed.lookup(&[10], &mut out[..7]),
            Err(Error::IndexOutOfRange {
                index: 10,
                rows: 10
            })
        );
        assert!(matches!(
            packed.lookup(&[1], &mut out[..6]),
            Err(Error::LengthMismatch { what: "out", .. })
        ));
    }
    let fp = QuantEmbeddingConfig::new(4, 2)
        .with_weight_bits(None)
        .init(&device)
        .map(|l| reseeded(l, 8))
        .unwrap();
    assert_eq!(
        fp.pack().unwrap_err(),
        Error::NotQuantized {
            layer: "QuantEmbedding"
        }
    );
}
