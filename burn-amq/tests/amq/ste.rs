//! Straight-through estimator and shadow-weight clipping.

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn_amq::nn::{QuantLinear, QuantLinearConfig, QuantLstm, QuantLstmConfig};
use burn_amq::{QuantMethod, clip_shadow_weights, fake_quantize_rows, quantize_ste, ste};

use crate::common::{gaussian, max_abs_diff, values};

#[test]
fn ste_has_the_value_of_q_and_the_gradient_identity() {
    let device = Device::flex().autodiff();
    let x = gaussian([3, 8], 1, &device).require_grad();
    let w = gaussian([3, 8], 2, &device);
    let q = fake_quantize_rows(x.clone().detach(), 2, QuantMethod::default()).unwrap();
    let y = ste(x.clone(), q.clone());
    assert!(max_abs_diff(&y, &q) < 1e-6);
    let grads = (y * w.clone()).sum().backward();
    let grad = x.grad(&grads).expect("x has a gradient");
    assert!(max_abs_diff(&grad, &w.inner()) == 0.0);
}

#[test]
fn quantize_ste_gradient_is_identity_on_any_rank() {
    let device = Device::flex().autodiff();
    let x = gaussian([2, 3, 8], 3, &device).require_grad();
    let w = gaussian([2, 3, 8], 4, &device);
    let y = quantize_ste(x.clone(), 3, QuantMethod::Refined).unwrap();
    let expected = fake_quantize_rows(x.clone().inner().reshape([6, 8]), 3, QuantMethod::Refined)
        .unwrap()
        .reshape([2, 3, 8]);
    assert!(max_abs_diff(&y.clone().inner(), &expected) < 1e-6);
    let grads = (y * w.clone()).sum().backward();
    assert!(max_abs_diff(&x.grad(&grads).unwrap(), &w.inner()) == 0.0);
}

#[derive(Module, Debug)]
struct Model {
    lstm: QuantLstm,
    head: QuantLinear,
    plain: Linear,
}

fn model(device: &Device) -> Model {
    let big = Initializer::Uniform {
        min: -3.0,
        max: 3.0,
    };
    Model {
        lstm: QuantLstmConfig::new(3, 4, true)
            .with_initializer(big.clone())
            .init(device)
            .unwrap(),
        head: QuantLinearConfig::new(4, 2)
            .with_initializer(big.clone())
            .init(device)
            .unwrap(),
        plain: LinearConfig::new(4, 2).with_initializer(big).init(device),
    }
}

fn within(t: &Tensor<2>, bound: f32) -> bool {
    values(t).iter().all(|v| v.abs() <= bound)
}

#[test]
fn clipping_clamps_quantized_weights_only_and_keeps_ids() {
    for device in [Device::flex(), Device::flex().autodiff()] {
        let before = model(&device);
        let ids = (
            before.lstm.input_weight.id,
            before.lstm.recurrent_weight.id,
            before.head.weight.id,
        );
        let bias_before = values(&before.lstm.bias.as_ref().unwrap().val());
        let plain_before = values(&before.plain.weight.val());
        assert!(
            !within(&before.lstm.input_weight.val(), 1.0),
            "test needs |w| > 1"
        );

        let after = clip_shadow_weights(before);
        assert!(within(&after.lstm.input_weight.val(), 1.0));
        assert!(within(&after.lstm.recurrent_weight.val(), 1.0));
        assert!(within(&after.head.weight.val(), 1.0));
        assert_eq!(
            values(&after.lstm.bias.as_ref().unwrap().val()),
            bias_before
        );
        assert_eq!(values(&after.plain.weight.val()), plain_before);
        assert_eq!(
            (
                after.lstm.input_weight.id,
                after.lstm.recurrent_weight.id,
                after.head.weight.id
            ),
            ids
        );
        if device.is_autodiff() {
            assert!(after.head.weight.val().is_require_grad());
        }
    }
}

#[test]
fn clipped_model_still_trains() {
    let device = Device::flex().autodiff();
    let model = clip_shadow_weights(model(&device));
    let x = gaussian([2, 3, 3], 5, &device);
    let (out, _) = model.lstm.forward(x, None);
    let grads = model.head.forward(out).sum().backward();
    let grad = model
        .lstm
        .input_weight
        .grad(&grads)
        .expect("gradient after clipping");
    assert!(values(&grad).iter().all(|v| v.is_finite()));
}
