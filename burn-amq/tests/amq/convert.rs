//! `burn::nn` → quantized layer conversion: with quantization off the function is unchanged.

use burn::nn::{EmbeddingConfig, GruConfig, LinearConfig, LstmConfig, LstmState};
use burn::prelude::*;
use burn::tensor::{Int, TensorData};
use burn_amq::Error;
use burn_amq::nn::{QuantEmbedding, QuantGru, QuantLinear, QuantLstm, QuantizationConfig};

use crate::common::{gaussian, max_abs_diff};

const TOLERANCE: f32 = 1e-5;

fn full_precision() -> QuantizationConfig {
    QuantizationConfig::full_precision()
}

fn eight_bit_weights() -> QuantizationConfig {
    QuantizationConfig::new().with_weight_bits(Some(8))
}

#[test]
fn linear_full_precision_matches_burn() {
    let device = Device::flex();
    device.seed(1);
    for bias in [true, false] {
        let linear = LinearConfig::new(5, 3).with_bias(bias).init(&device);
        let quant = QuantLinear::from_linear(&linear, &full_precision()).unwrap();
        let x3 = gaussian([2, 4, 5], 2, &device);
        assert!(max_abs_diff(&linear.forward(x3.clone()), &quant.forward(x3)) < TOLERANCE);
        let x2 = gaussian([3, 5], 3, &device);
        assert!(max_abs_diff(&linear.forward(x2.clone()), &quant.forward(x2)) < TOLERANCE);
    }
}

#[test]
fn embedding_full_precision_matches_burn() {
    let device = Device::flex();
    device.seed(2);
    let embedding = EmbeddingConfig::new(7, 4).init(&device);
    let quant = QuantEmbedding::from_embedding(&embedding, &full_precision()).unwrap();
    let ids =
        Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 6, 3, 3, 1, 2], [2, 3]), &device);
    assert!(max_abs_diff(&embedding.forward(ids.clone()), &quant.forward(ids)) < TOLERANCE);
}

fn lstm_state(batch: usize, h: usize, seed: u64, device: &Device) -> LstmState<2> {
    LstmState::new(
        gaussian([batch, h], seed, device),
        gaussian([batch, h], seed + 1, device),
    )
}

#[test]
fn lstm_full_precision_matches_burn_with_and_without_state() {
    let device = Device::flex();
    device.seed(3);
    for bias in [true, false] {
        let lstm = LstmConfig::new(3, 4, bias).init(&device);
        let quant = QuantLstm::from_lstm(&lstm, &full_precision()).unwrap();
        let x = gaussian([2, 5, 3], 4, &device);
        for state in [None, Some(lstm_state(2, 4, 5, &device))] {
            let (out_ref, state_ref) = lstm.forward(x.clone(), state.clone());
            let (out, state) = quant.forward(x.clone(), state);
            assert!(max_abs_diff(&out_ref, &out) < TOLERANCE);
            assert!(max_abs_diff(&state_ref.cell, &state.cell) < TOLERANCE);
            assert!(max_abs_diff(&state_ref.hidden, &state.hidden) < TOLERANCE);
        }
    }
}

#[test]
fn gru_full_precision_matches_burn() {
    let device = Device::flex();
    device.seed(4);
    for reset_after in [true, false] {
        for bias in [true, false] {
            let gru = GruConfig::new(3, 4, bias)
                .with_reset_after(reset_after)
                .init(&device);
            let quant = QuantGru::from_gru(&gru, &full_precision()).unwrap();
            assert_eq!(quant.recurrent_new_bias.is_some(), bias && reset_after);
            let x = gaussian([2, 5, 3], 6, &device);
            for state in [None, Some(gaussian([2, 4], 7, &device))] {
                let expected = gru.forward(x.clone(), state.clone());
                let actual = quant.forward(x.clone(), state);
                assert!(
                    max_abs_diff(&expected, &actual) < TOLERANCE,
                    "reset_after={reset_after} bias={bias}"
                );
            }
        }
    }
}

#[test]
fn eight_bit_weights_stay_close() {
    let device = Device::flex();
    device.seed(5);
    let x = gaussian([2, 6, 3], 8, &device);

    let lstm = LstmConfig::new(3, 4, true).init(&device);
    let quant = QuantLstm::from_lstm(&lstm, &eight_bit_weights()).unwrap();
    let (out_ref, state_ref) = lstm.forward(x.clone(), None);
    let (out, state) = quant.forward(x.clone(), None);
    let diff = max_abs_diff(&out_ref, &out);
    assert!(diff > 0.0 && diff < 2e-2, "lstm output diff {diff}");
    assert!(max_abs_diff(&state_ref.cell, &state.cell) < 2e-2);

    for reset_after in [true, false] {
        let gru = GruConfig::new(3, 4, true)
            .with_reset_after(reset_after)
            .init(&device);
        let quant = QuantGru::from_gru(&gru, &eight_bit_weights()).unwrap();
        let diff = max_abs_diff(
            &gru.forward(x.clone(), None),
            &quant.forward(x.clone(), None),
        );
        assert!(diff > 0.0 && diff < 2e-2, "gru output diff {diff}");
    }

    let linear = LinearConfig::new(3, 5).init(&device);
    let quant = QuantLinear::from_linear(&linear, &eight_bit_weights()).unwrap();
    let diff = max_abs_diff(&linear.forward(x.clone()), &quant.forward(x));
    assert!(diff > 0.0 && diff < 2e-2, "linear output diff {diff}");
}

fn assert_unsupported<T: std::fmt::Debug>(result: Result<T, Error>, module: &str) {
    match result {
        Err(Error::UnsupportedModule { module: m, .. }) => assert_eq!(m, module),
        other => panic!("expected UnsupportedModule, got {other:?}"),
    }
}

#[test]
fn unsupported_burn_configs_are_rejected() {
    let device = Device::flex();
    let q = full_precision();
    let base = || LstmConfig::new(2, 3, true);
    assert_unsupported(
        QuantLstm::from_lstm(&base().with_input_forget(true).init(&device), &q),
        "Lstm",
    );
    assert_unsupported(
        QuantLstm::from_lstm(&base().with_reverse(true).init(&device), &q),
        "Lstm",
    );
    assert_unsupported(
        QuantLstm::from_lstm(&base().with_clip(Some(1.0)).init(&device), &q),
        "Lstm",
    );
    assert_unsupported(
        QuantLstm::from_lstm(&base().with_batch_first(false).init(&device), &q),
        "Lstm",
    );
    assert_unsupported(
        QuantLstm::from_lstm(
            &base()
                .with_gate_activation(burn::nn::activation::ActivationConfig::Relu)
                .init(&device),
            &q,
        ),
        "Lstm",
    );
    assert_unsupported(
        QuantGru::from_gru(
            &GruConfig::new(2, 3, true)
                .with_clip(Some(1.0))
                .init(&device),
            &q,
        ),
        "Gru",
    );
    assert_unsupported(
        QuantGru::from_gru(
            &GruConfig::new(2, 3, true)
                .with_hidden_activation(burn::nn::activation::ActivationConfig::Relu)
                .init(&device),
            &q,
        ),
        "Gru",
    );
}

#[test]
fn invalid_bits_in_conversion_are_rejected() {
    let device = Device::flex();
    let linear = LinearConfig::new(2, 2).init(&device);
    let err = QuantLinear::from_linear(&linear, &QuantizationConfig::new().with_act_bits(Some(9)))
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidBits {
            what: "act_bits",
            bits: 9
        }
    );
}
