//! Quantized behaviour of the layers, against references written with the public quantizer.

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Int, TensorData};
use burn_amq::nn::{
    QuantEmbeddingConfig, QuantGru, QuantGruConfig, QuantLinearConfig, QuantLstm, QuantLstmConfig,
};
use burn_amq::{Error, QuantMethod, fake_quantize_rows, fake_quantize_vectors};

use crate::common::{gaussian, max_abs_diff, values};

const METHOD: QuantMethod = QuantMethod::Alternating { cycles: 2 };

fn quantized(w: Tensor<2>, bits: Option<usize>) -> Tensor<2> {
    match bits {
        Some(bits) => fake_quantize_rows(w, bits, METHOD).unwrap(),
        None => w,
    }
}

#[test]
fn linear_quantizes_weights_per_output_unit() {
    let device = Device::flex();
    device.seed(10);
    let layer = QuantLinearConfig::new(6, 3)
        .with_weight_bits(Some(1))
        .init(&device)
        .unwrap();
    let effective = layer.effective_weight();
    assert_eq!(effective.dims(), [3, 6]);
    // One bit per output unit: each row is ±α for its own α.
    let v = values(&effective);
    let magnitudes: Vec<f32> = v.chunks(6).map(|row| row[0].abs()).collect();
    for (row, &alpha) in v.chunks(6).zip(&magnitudes) {
        assert!(row.iter().all(|e| (e.abs() - alpha).abs() < 1e-7));
    }
    assert!(magnitudes[0] != magnitudes[1] || magnitudes[1] != magnitudes[2]);
    let x = gaussian([4, 6], 11, &device);
    let expected = x.clone().matmul(effective.transpose())
        + layer.bias.as_ref().unwrap().val().unsqueeze_dim(0);
    assert!(max_abs_diff(&layer.forward(x), &expected) < 1e-5);
}

#[test]
fn linear_quantizes_its_input_when_asked() {
    let device = Device::flex();
    let config = QuantLinearConfig::new(8, 2)
        .with_weight_bits(None)
        .with_act_bits(Some(1));
    let layer = config.init(&device).unwrap();
    let x = gaussian([3, 8], 12, &device);
    let bias = layer.bias.as_ref().unwrap().val().unsqueeze_dim(0);
    let w_t = layer.weight.val().transpose();
    let expected = fake_quantize_vectors(x.clone(), 1, METHOD)
        .unwrap()
        .matmul(w_t.clone())
        + bias.clone();
    assert!(max_abs_diff(&layer.forward(x.clone()), &expected) < 1e-5);

    let unquantized = config.with_quantize_input(false).init(&device).unwrap();
    let w_t = unquantized.weight.val().transpose();
    let bias = unquantized.bias.as_ref().unwrap().val().unsqueeze_dim(0);
    assert!(max_abs_diff(&unquantized.forward(x.clone()), &(x.matmul(w_t) + bias)) < 1e-5);
}

#[test]
fn linear_splits_into_input_quantization_and_a_prequantized_forward() {
    let device = Device::flex();
    let layer = QuantLinearConfig::new(70, 5)
        .with_weight_bits(Some(2))
        .with_act_bits(Some(2))
        .init(&device)
        .unwrap();
    let x = gaussian([3, 70], 13, &device);
    let q = layer.quantize_input(x.clone());
    assert!(max_abs_diff(&q, &fake_quantize_vectors(x.clone(), 2, METHOD).unwrap()) < 1e-6);
    assert!(max_abs_diff(&layer.forward_prequantized(q), &layer.forward(x.clone())) < 1e-5);
    // `forward_prequantized` does not quantize what it gets: a vector with zeros in it (as
    // after dropout) goes through the weights as it is.
    let mask = Tensor::<2>::from_data(
        TensorData::new(
            (0..210).map(|i| (i % 2) as f32).collect::<Vec<f32>>(),
            [3, 70],
        ),
        &device,
    );
    let dropped = x * mask;
    let bias = layer.bias.as_ref().unwrap().val().unsqueeze_dim(0);
    let expected = dropped.clone().matmul(layer.effective_weight().transpose()) + bias;
    assert!(max_abs_diff(&layer.forward_prequantized(dropped), &expected) < 1e-5);
}

#[test]
fn embedding_rows_are_rows_of_the_quantized_table() {
    let device = Device::flex();
    let layer = QuantEmbeddingConfig::new(5, 8)
        .with_weight_bits(Some(2))
        .init(&device)
        .unwrap();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![4i64, 0, 2], [1, 3]), &device);
    let out = layer.forward(ids);
    let table = layer.effective_weight();
    for (pos, id) in [4usize, 0, 2].into_iter().enumerate() {
        let row = out.clone().narrow(1, pos, 1).reshape([1, 8]);
        assert!(max_abs_diff(&row, &table.clone().narrow(0, id, 1)) < 1e-6);
    }
}

/// The LSTM step written out: x_t is (optionally) quantized, h_{t−1} always when act_bits.
fn reference_lstm(
    lstm: &QuantLstm,
    x: Tensor<3>,
    w_bits: Option<usize>,
    a_bits: usize,
    quantize_input: bool,
) -> Tensor<3> {
    let [batch, seq, _] = x.dims();
    let h = lstm.d_hidden;
    let w = quantized(lstm.input_weight.val(), w_bits).transpose();
    let u = quantized(lstm.recurrent_weight.val(), w_bits).transpose();
    let b = lstm.bias.as_ref().unwrap().val().unsqueeze_dim::<2>(0);
    let device = x.device();
    let (mut c, mut hidden) = (
        Tensor::<2>::zeros([batch, h], &device),
        Tensor::<2>::zeros([batch, h], &device),
    );
    let mut outs = Vec::new();
    for t in 0..seq {
        let mut x_t: Tensor<2> = x.clone().narrow(1, t, 1).reshape([batch, x.dims()[2]]);
        if quantize_input {
            x_t = fake_quantize_vectors(x_t, a_bits, METHOD).unwrap();
        }
        let h_q = fake_quantize_vectors(hidden.clone(), a_bits, METHOD).unwrap();
        let z = x_t.matmul(w.clone()) + h_q.matmul(u.clone()) + b.clone();
        let g = |k: usize| z.clone().narrow(1, k * h, h);
        c = sigmoid(g(1)) * c + sigmoid(g(0)) * g(2).tanh();
        hidden = sigmoid(g(3)) * c.clone().tanh();
        outs.push(hidden.clone().unsqueeze_dim::<3>(1));
    }
    Tensor::cat(outs, 1)
}

#[test]
fn lstm_quantizes_the_hidden_state_every_step() {
    let device = Device::flex();
    device.seed(13);
    let x = gaussian([2, 4, 3], 14, &device);
    for (w_bits, quantize_input) in [(None, false), (Some(2), true)] {
        let lstm = QuantLstmConfig::new(3, 5, true)
            .with_weight_bits(w_bits)
            .with_act_bits(Some(2))
            .with_quantize_input(quantize_input)
            .init(&device)
            .unwrap();
        let (out, _) = lstm.forward(x.clone(), None);
        let expected = reference_lstm(&lstm, x.clone(), w_bits, 2, quantize_input);
        let w = quantized(lstm.recurrent_weight.val(), w_bits);
        assert!(max_abs_diff(&lstm.effective_recurrent_weight(), &w) == 0.0);
        assert!(max_abs_diff(&out, &expected) < 1e-5, "w_bits={w_bits:?}");
        let (out_fp, _) = QuantLstmConfig::new(3, 5, true)
            .with_weight_bits(None)
            .init(&device)
            .unwrap()
            .forward(x.clone(), None);
        assert!(
            max_abs_diff(&out, &out_fp) > 1e-3,
            "quantization changed nothing"
        );
    }
}

/// The GRU step written out with quantized h_{t−1} (and r ⊙ h_{t−1} when reset before).
fn reference_gru(gru: &QuantGru, x: Tensor<3>, a_bits: usize) -> Tensor<3> {
    let [batch, seq, d] = x.dims();
    let h = gru.d_hidden;
    let w = gru.input_weight.val().transpose();
    let u = gru.recurrent_weight.val().transpose();
    let b = gru.bias.as_ref().unwrap().val().unsqueeze_dim::<2>(0);
    let q = |v: Tensor<2>| fake_quantize_vectors(v, a_bits, METHOD).unwrap();
    let mut hidden = Tensor::<2>::zeros([batch, h], &x.device());
    let mut outs = Vec::new();
    for t in 0..seq {
        let xp = q(x.clone().narrow(1, t, 1).reshape([batch, d])).matmul(w.clone()) + b.clone();
        let xg = |k: usize| xp.clone().narrow(1, k * h, h);
        let ug = |k: usize| u.clone().narrow(1, k * h, h);
        let h_q = q(hidden.clone());
        let z = sigmoid(xg(0) + h_q.clone().matmul(ug(0)));
        let r = sigmoid(xg(1) + h_q.clone().matmul(ug(1)));
        let n = if gru.reset_after {
            let bhn = gru
                .recurrent_new_bias
                .as_ref()
                .unwrap()
                .val()
                .unsqueeze_dim::<2>(0);
            (xg(2) + r * (h_q.matmul(ug(2)) + bhn)).tanh()
        } else {
            (xg(2) + q(r * hidden.clone()).matmul(ug(2))).tanh()
        };
        hidden = n * (z.clone().neg() + 1.0) + z * hidden;
        outs.push(hidden.clone().unsqueeze_dim::<3>(1));
    }
    Tensor::cat(outs, 1)
}

#[test]
fn gru_quantizes_the_hidden_state_every_step() {
    let device = Device::flex();
    device.seed(15);
    let x = gaussian([2, 4, 3], 16, &device);
    for reset_after in [true, false] {
        let gru = QuantGruConfig::new(3, 5, true)
            .with_reset_after(reset_after)
            .with_weight_bits(None)
            .with_act_bits(Some(2))
            .init(&device)
            .unwrap();
        let out = gru.forward(x.clone(), None);
        let expected = reference_gru(&gru, x.clone(), 2);
        assert!(
            max_abs_diff(&out, &expected) < 1e-5,
            "reset_after={reset_after}"
        );
    }
}

#[test]
fn invalid_layer_configs_are_rejected() {
    let device = Device::flex();
    let err = QuantLstmConfig::new(3, 4, true)
        .with_weight_bits(Some(0))
        .init(&device)
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidBits {
            what: "weight_bits",
            bits: 0
        }
    );
    let err = QuantGruConfig::new(3, 0, true).init(&device).unwrap_err();
    assert_eq!(err, Error::ZeroDimension { what: "d_hidden" });
    let err = QuantLinearConfig::new(3, 4)
        .with_act_bits(Some(12))
        .init(&device)
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidBits {
            what: "act_bits",
            bits: 12
        }
    );
}

#[test]
fn empty_sequences_give_empty_outputs() {
    let device = Device::flex();
    let lstm = QuantLstmConfig::new(3, 4, true).init(&device).unwrap();
    let (out, state) = lstm.forward(Tensor::zeros([2, 0, 3], &device), None);
    assert_eq!(out.dims(), [2, 0, 4]);
    assert_eq!(state.hidden.dims(), [2, 4]);
    let gru = QuantGruConfig::new(3, 4, true).init(&device).unwrap();
    assert_eq!(
        gru.forward(Tensor::zeros([2, 0, 3], &device), None).dims(),
        [2, 0, 4]
    );
    let linear = QuantLinearConfig::new(3, 4).init(&device).unwrap();
    assert_eq!(
        linear
            .forward(Tensor::<3>::zeros([0, 2, 3], &device))
            .dims(),
        [0, 2, 4]
    );
}
