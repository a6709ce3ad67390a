//! Autodiff and persistence of the quantized layers.

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::{Int, TensorData};
use burn_amq::nn::{
    QuantEmbedding, QuantEmbeddingConfig, QuantGru, QuantGruConfig, QuantLinear, QuantLinearConfig,
    QuantLstm, QuantLstmConfig,
};

use crate::common::{gaussian, max_abs_diff, values};

fn assert_finite_nonzero(grad: Option<Tensor<2>>, name: &str) {
    let grad = grad.unwrap_or_else(|| panic!("{name} has no gradient"));
    let v = values(&grad);
    assert!(
        v.iter().all(|g| g.is_finite()),
        "{name}: non-finite gradient"
    );
    assert!(v.iter().any(|g| *g != 0.0), "{name}: zero gradient");
}

#[derive(Module, Debug)]
struct LanguageModel {
    embedding: QuantEmbedding,
    lstm: QuantLstm,
    gru: QuantGru,
    head: QuantLinear,
}

#[test]
fn quantized_model_backward_gives_finite_gradients_for_all_params() {
    let device = Device::flex().autodiff();
    device.seed(20);
    let model = LanguageModel {
        embedding: QuantEmbeddingConfig::new(6, 4)
            .with_weight_bits(Some(2))
            .init(&device)
            .unwrap(),
        lstm: QuantLstmConfig::new(4, 5, true)
            .with_weight_bits(Some(2))
            .with_act_bits(Some(2))
            .with_quantize_input(false)
            .init(&device)
            .unwrap(),
        gru: QuantGruConfig::new(5, 3, true)
            .with_weight_bits(Some(3))
            .with_act_bits(Some(2))
            .init(&device)
            .unwrap(),
        head: QuantLinearConfig::new(3, 6)
            .with_act_bits(Some(2))
            .init(&device)
            .unwrap(),
    };
    let ids =
        Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 5, 0, 2, 3, 3], [2, 3]), &device);
    let (hidden, state) = model.lstm.forward(model.embedding.forward(ids), None);
    let logits = model.head.forward(model.gru.forward(hidden, None));
    let loss = logits.powi_scalar(2).mean() + state.cell.sum();
    let grads = loss.backward();

    assert_finite_nonzero(model.embedding.weight.grad(&grads), "embedding.weight");
    assert_finite_nonzero(model.lstm.input_weight.grad(&grads), "lstm.input_weight");
    assert_finite_nonzero(
        model.lstm.recurrent_weight.grad(&grads),
        "lstm.recurrent_weight",
    );
    assert_finite_nonzero(
        model
            .lstm
            .bias
            .as_ref()
            .unwrap()
            .grad(&grads)
            .map(|g| g.unsqueeze_dim(0)),
        "lstm.bias",
    );
    assert_finite_nonzero(model.gru.input_weight.grad(&grads), "gru.input_weight");
    assert_finite_nonzero(
        model.gru.recurrent_weight.grad(&grads),
        "gru.recurrent_weight",
    );
    assert_finite_nonzero(
        model
            .gru
            .bias
            .as_ref()
            .unwrap()
            .grad(&grads)
            .map(|g| g.unsqueeze_dim(0)),
        "gru.bias",
    );
    assert_finite_nonzero(
        model
            .gru
            .recurrent_new_bias
            .as_ref()
            .unwrap()
            .grad(&grads)
            .map(|g| g.unsqueeze_dim(0)),
        "gru.recurrent_new_bias",
    );
    assert_finite_nonzero(model.head.weight.grad(&grads), "head.weight");
    assert_finite_nonzero(
        model
            .head
            .bias
            .as_ref()
            .unwrap()
            .grad(&grads)
            .map(|g| g.unsqueeze_dim(0)),
        "head.bias",
    );
}

fn lstm(device: &Device) -> QuantLstm {
    QuantLstmConfig::new(3, 4, true)
        .with_weight_bits(Some(2))
        .with_act_bits(Some(2))
        .init(device)
        .unwrap()
}

#[test]
fn lstm_record_round_trip_restores_the_function() {
    let device = Device::flex();
    device.seed(21);
    let trained = lstm(&device);
    let x = gaussian([2, 3, 3], 22, &device);
    let (expected, _) = trained.forward(x.clone(), None);

    let fresh = lstm(&device);
    assert!(max_abs_diff(&fresh.forward(x.clone(), None).0, &expected) > 1e-4);
    let loaded = fresh.load_record(trained.clone().into_record());
    assert!(max_abs_diff(&loaded.forward(x.clone(), None).0, &expected) == 0.0);

    let path = std::env::temp_dir().join(format!("burn-amq-lstm-{}", std::process::id()));
    trained.clone().save_file(&path).expect("save burnpack");
    let from_file = lstm(&device).load_file(&path);
    assert!(max_abs_diff(&from_file.forward(x, None).0, &expected) == 0.0);
    assert_eq!(from_file.weight_quantizer(), trained.weight_quantizer());
    let _ = std::fs::remove_file(path.with_extension("bpk"));
}

#[test]
fn valid_mode_computes_the_same_function() {
    let device = Device::flex().autodiff();
    device.seed(23);
    let model = lstm(&device);
    let x = gaussian([2, 3, 3], 24, &device);
    let (train_out, _) = model.forward(x.clone(), None);
    let inference = model.valid();
    assert_eq!(inference.hidden_quantizer(), model.hidden_quantizer());
    let (valid_out, _) = inference.forward(x.inner(), None);
    assert!(!valid_out.is_autodiff());
    assert!(max_abs_diff(&train_out.inner(), &valid_out) < 1e-6);
}

#[test]
fn configs_round_trip_through_json() {
    use burn::config::{Config, config_to_json};
    let config = QuantGruConfig::new(3, 4, true)
        .with_act_bits(Some(3))
        .with_method(burn_amq::QuantMethod::Alternating { cycles: 5 });
    let json = config_to_json(&config);
    let back = QuantGruConfig::load_binary(json.as_bytes()).expect("parse config");
    assert_eq!(back.method, config.method);
    assert_eq!(back.act_bits, Some(3));
    assert_eq!(back.weight_bits, Some(2));
}
