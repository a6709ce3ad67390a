//! QuantLstm forward and backward on wgpu equal Flex.

use burn::prelude::*;
use burn_amq::QuantMethod;
use burn_amq::nn::{QuantLstm, QuantLstmConfig};

use crate::common::{gaussian, reseeded, values};
use crate::compare::{assert_clear_of_ties, check, copied_to};
use crate::wgpu_device;

const METHOD: QuantMethod = QuantMethod::Alternating { cycles: 2 };
const BATCH: usize = 2;
const SEQ: usize = 3;
const D_INPUT: usize = 5;
const HIDDEN: usize = 4;

/// Everything one forward + backward pass produces, flattened, by name.
type Run = Vec<(&'static str, Tensor<1>)>;

fn flat<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let n = t.dims().iter().product::<usize>();
    t.reshape([n])
}

/// Forward from zero state, a scalar loss that weighs every output and both final states with
/// seeded coefficients (so no gradient is trivially symmetric), backward.
fn forward_backward(lstm: &QuantLstm, x: &Tensor<3>, seed: u64, device: &Device) -> Run {
    let lstm = copied_to(lstm.clone(), device);
    let x = Tensor::<3>::from_data(x.to_data(), device).require_grad();
    let (outputs, state) = lstm.forward(x.clone(), None);
    let loss = (outputs.clone() * gaussian([BATCH, SEQ, HIDDEN], seed + 10, device)).sum()
        + (state.cell.clone() * gaussian([BATCH, HIDDEN], seed + 11, device)).sum()
        + (state.hidden.clone() * gaussian([BATCH, HIDDEN], seed + 12, device)).sum();
    let grads = loss.backward();
    let grad = |name: &str, g: Option<Tensor<1>>| g.unwrap_or_else(|| panic!("no grad: {name}"));
    let bias = lstm.bias.as_ref().expect("built with a bias");
    vec![
        ("outputs", flat(outputs.inner())),
        ("final cell", flat(state.cell.inner())),
        ("final hidden", flat(state.hidden.inner())),
        (
            "grad input_weight",
            grad("input_weight", lstm.input_weight.grad(&grads).map(flat)),
        ),
        (
            "grad recurrent_weight",
            grad(
                "recurrent_weight",
                lstm.recurrent_weight.grad(&grads).map(flat),
            ),
        ),
        ("grad bias", grad("bias", bias.grad(&grads))),
        ("grad input", grad("input", x.grad(&grads).map(flat))),
    ]
}

/// Checks that no quantized value of the Flex forward pass is near a code boundary (see
/// `assert_clear_of_ties`): weight rows, input vectors and the hidden states fed back.
fn assert_inputs_clear_of_ties(lstm: &QuantLstm, x: &Tensor<3>) {
    if let Some(q) = lstm.weight_quantizer() {
        assert_clear_of_ties("input_weight", lstm.input_weight.val(), q);
        assert_clear_of_ties("recurrent_weight", lstm.recurrent_weight.val(), q);
    }
    if let Some(q) = lstm.input_quantizer() {
        let rows = x.clone().reshape([BATCH * SEQ, D_INPUT]);
        assert_clear_of_ties("input vectors", rows, q);
    }
    if let Some(q) = lstm.hidden_quantizer() {
        // h_0 = 0 quantizes to exactly 0; h_1 .. h_{seq−1} are the outputs of the earlier steps.
        let (outputs, _) = lstm.forward(x.clone(), None);
        let fed_back = outputs
            .narrow(1, 0, SEQ - 1)
            .reshape([BATCH * (SEQ - 1), HIDDEN]);
        assert_clear_of_ties("hidden states", fed_back, q);
    }
}

fn flex_and_wgpu_agree(weight_bits: Option<usize>, act_bits: Option<usize>, seed: u64) {
    let config = QuantLstmConfig::new(D_INPUT, HIDDEN, true)
        .with_weight_bits(weight_bits)
        .with_act_bits(act_bits)
        .with_method(METHOD);
    let flex = Device::flex();
    let lstm = reseeded(config.init(&flex).expect("valid config"), seed);
    let x = gaussian([BATCH, SEQ, D_INPUT], seed + 1, &flex);
    assert_inputs_clear_of_ties(&lstm, &x);

    let on_flex = forward_backward(&lstm, &x, seed, &flex.autodiff());
    let on_wgpu = forward_backward(&lstm, &x, seed, &wgpu_device().autodiff());
    println!("QuantLstm weight_bits {weight_bits:?}, act_bits {act_bits:?}:");
    let mut worst = 0.0f32;
    for ((name, a), (_, b)) in on_flex.iter().zip(&on_wgpu) {
        // A gradient that is zero everywhere would make the comparison vacuous.
        let largest = values(a).iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(largest > 1e-3, "{name} is (nearly) zero on Flex: {largest}");
        worst = worst.max(check(name, a, b));
    }
    println!("worst difference: {worst:.3e}");
}

// Seeds must pass `assert_inputs_clear_of_ties`; 21, for one, puts a weight entry within 1e-4
// of a code boundary.
#[test]
fn lstm_weights_and_activations_quantized() {
    flex_and_wgpu_agree(Some(2), Some(2), 23);
}

#[test]
fn lstm_weights_only() {
    flex_and_wgpu_agree(Some(2), None, 22);
}
