//! Forward passes of QuantLinear and QuantGru on wgpu equal Flex.

use burn::prelude::*;
use burn_amq::nn::{QuantGruConfig, QuantLinearConfig};

use crate::common::{gaussian, reseeded};
use crate::compare::{assert_clear_of_ties, check, copied_to};
use crate::wgpu_device;

#[test]
fn linear_forward() {
    let flex = Device::flex();
    let layer = QuantLinearConfig::new(6, 3)
        .with_weight_bits(Some(2))
        .with_act_bits(Some(2))
        .init(&flex)
        .expect("valid config");
    let layer = reseeded(layer, 31);
    let x = gaussian([2, 6], 32, &flex);
    let (w, a) = (layer.weight_quantizer(), layer.input_quantizer());
    let (w, a) = (w.expect("weights quantized"), a.expect("input quantized"));
    assert_clear_of_ties("linear weight", layer.weight.val(), w);
    assert_clear_of_ties("linear input", x.clone(), a);

    let wgpu = wgpu_device();
    let on_wgpu = copied_to(layer.clone(), &wgpu).forward(Tensor::from_data(x.to_data(), &wgpu));
    check("QuantLinear output", &layer.forward(x), &on_wgpu);
}

#[test]
fn gru_forward() {
    let (batch, seq, d_input, hidden) = (2, 3, 5, 4);
    let flex = Device::flex();
    let gru = QuantGruConfig::new(d_input, hidden, true)
        .with_weight_bits(Some(2))
        .with_act_bits(Some(2))
        .init(&flex)
        .expect("valid config");
    let gru = reseeded(gru, 41);
    let x = gaussian([batch, seq, d_input], 42, &flex);
    let outputs = gru.forward(x.clone(), None);
    let w = gru.weight_quantizer().expect("weights quantized");
    assert_clear_of_ties("gru input_weight", gru.input_weight.val(), w);
    assert_clear_of_ties("gru recurrent_weight", gru.recurrent_weight.val(), w);
    let a = gru.input_quantizer().expect("input quantized");
    let rows = x.clone().reshape([batch * seq, d_input]);
    assert_clear_of_ties("gru input vectors", rows, a);
    // reset_after (the default) quantizes only h_{t−1}: h_0 = 0 and the earlier outputs.
    let a = gru.hidden_quantizer().expect("hidden quantized");
    let fed_back = outputs
        .clone()
        .narrow(1, 0, seq - 1)
        .reshape([batch * (seq - 1), hidden]);
    assert_clear_of_ties("gru hidden states", fed_back, a);

    let wgpu = wgpu_device();
    let on_wgpu = copied_to(gru, &wgpu).forward(Tensor::from_data(x.to_data(), &wgpu), None);
    check("QuantGru outputs", &outputs, &on_wgpu);
}
