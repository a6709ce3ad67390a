//! Packed GRU against the layer's own fake-quantized forward on Flex.

use burn::prelude::*;
use burn_amq::Error;
use burn_amq::nn::{QuantGru, QuantGruConfig};
use burn_amq::packed::{PackOptions, WeightsOnlyProduct};

use crate::common::{gaussian, reseeded, values};

const D_IN: usize = 5;
const H: usize = 3;
const SEQ: usize = 4;

fn gru(wbits: Option<usize>, abits: Option<usize>, reset_after: bool, device: &Device) -> QuantGru {
    QuantGruConfig::new(D_IN, H, true)
        .with_reset_after(reset_after)
        .with_weight_bits(wbits)
        .with_act_bits(abits)
        .init(device)
        .map(|l| reseeded(l, 1))
        .unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Largest |packed − layer| over batch 1 and 3, with and without an initial state.
fn gru_difference(layer: &QuantGru, seed: u64, device: &Device) -> f32 {
    gru_difference_with(layer, &PackOptions::default(), seed, device)
}

fn gru_difference_with(layer: &QuantGru, options: &PackOptions, seed: u64, device: &Device) -> f32 {
    let mut packed = layer.pack_with(options).unwrap();
    let mut worst = 0.0f32;
    for batch in [1usize, 3] {
        let x = gaussian([batch, SEQ, D_IN], seed + batch as u64, device);
        for with_state in [false, true] {
            let state = with_state.then(|| gaussian([batch, H], seed + 50, device).tanh());
            let packed_state = state.as_ref().map(values);
            let expected = values(&layer.forward(x.clone(), state));
            let out = packed
                .forward(&values(&x), batch, SEQ, packed_state.as_deref())
                .unwrap();
            worst = worst.max(max_diff(&out, &expected));
        }
    }
    worst
}

#[test]
fn gru_popcount_matches_fake_quantized_forward() {
    let device = Device::flex();
    device.seed(8);
    let mut worst = 0.0f32;
    for reset_after in [true, false] {
        for wbits in 1..=4 {
            for abits in 1..=4 {
                let layer = gru(Some(wbits), Some(abits), reset_after, &device);
                let d = gru_difference(&layer, 500 + (wbits * 10 + abits) as u64, &device);
                assert!(
                    d <= 1e-4,
                    "reset_after {reset_after} w{wbits} a{abits}: {d}"
                );
                worst = worst.max(d);
            }
        }
    }
    println!("gru popcount: worst difference {worst:e}");
}

#[test]
fn gru_weights_only_matches_fake_quantized_forward() {
    let device = Device::flex();
    device.seed(9);
    let lookup = PackOptions::default().with_weights_only(WeightsOnlyProduct::Lookup);
    let (mut worst_exact, mut worst_lookup) = (0.0f32, 0.0f32);
    for reset_after in [true, false] {
        for wbits in 1..=4 {
            let layer = gru(Some(wbits), None, reset_after, &device);
            let d = gru_difference(&layer, 600 + wbits as u64, &device);
            assert!(d <= 1e-4, "exact reset_after {reset_after} w{wbits}: {d}");
            worst_exact = worst_exact.max(d);
            let d = gru_difference_with(&layer, &lookup, 600 + wbits as u64, &device);
            // int8 lookup tables: see LSTM_LOOKUP_TOL in packed.rs.
            assert!(d <= 0.03, "lookup reset_after {reset_after} w{wbits}: {d}");
            worst_lookup = worst_lookup.max(d);
        }
    }
    println!("gru weights-only: worst difference exact {worst_exact:e}, lookup {worst_lookup:e}");
}

#[test]
fn gru_step_api_equals_sequence_api_and_rejects_bad_input() {
    let device = Device::flex();
    device.seed(10);
    for reset_after in [true, false] {
        let mut packed = gru(Some(2), Some(2), reset_after, &device).pack().unwrap();
        assert_eq!((packed.d_input(), packed.d_hidden()), (D_IN, H));
        let batch = 3;
        let x = values(&gaussian([batch, SEQ, D_IN], 99, &device));
        let outputs = packed.forward(&x, batch, SEQ, None).unwrap();
        let mut hidden = vec![0.0; batch * H];
        let mut xt = vec![0.0; batch * D_IN];
        for t in 0..SEQ {
            for b in 0..batch {
                xt[b * D_IN..][..D_IN].copy_from_slice(&x[(b * SEQ + t) * D_IN..][..D_IN]);
            }
            packed.step(&xt, batch, &mut hidden).unwrap();
            for b in 0..batch {
                assert_eq!(hidden[b * H..][..H], outputs[(b * SEQ + t) * H..][..H]);
            }
        }
        assert!(matches!(
            packed.forward(&x[1..], batch, SEQ, None),
            Err(Error::LengthMismatch { what: "x", .. })
        ));
        assert_eq!(
            packed.step(&[], 0, &mut []).unwrap_err(),
            Error::ZeroDimension { what: "batch" }
        );
        assert!(matches!(
            packed.forward(&x, batch, SEQ, Some(&[0.0; 2])),
            Err(Error::LengthMismatch { what: "state", .. })
        ));
    }
    assert_eq!(
        gru(None, Some(2), true, &device).pack().unwrap_err(),
        Error::NotQuantized { layer: "QuantGru" }
    );
}
