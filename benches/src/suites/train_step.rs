//! `amq-bench layers`, train-step rows: one quantization-aware training step of `QuantLstm`
//! (and `QuantGru`) against the same step of `burn::nn::Lstm` (`Gru`) in f32, on
//! `Device::flex().autodiff()`.
//!
//! A step is: forward over a `[batch, seq, h]` input (input size = hidden size) from the zero
//! state, loss = mean squared difference to a fixed target, `backward()`, and reading the
//! input weight's gradient to the host. There is no optimizer step (it costs the same on both
//! sides: the same number of parameters). The quantized layer is converted from the Burn
//! layer (same weights) with 2-bit weights, 2-bit activations (`x_t` and `h_{t−1}`) and
//! alternating quantization with `T = 2`, so its forward pass re-quantizes both weight
//! matrices, the whole input and the hidden state of every step, with the straight-through
//! estimator.
//!
//! Both sides run with the process defaults (Burn's global rayon pool, the kernels'
//! [`Par::Auto`](burn_amq_kernels::Par::Auto)), as a training loop would.

use burn::prelude::*;
use serde_json::json;

use super::SuiteError;
use super::recurrent::{BurnLayer, HostState, Layer, TensorState, host_values, quant_config};
use crate::data::gaussian;
use crate::report::{JsonRows, Table, round3};
use crate::timing::{TimingPlan, median_us_interleaved};

/// Seed of the Burn layers' initialisation.
const WEIGHT_SEED: u64 = 43;

/// Options of the train-step rows.
#[derive(Debug, Clone)]
pub struct TrainStepOptions {
    /// Timing plan.
    pub plan: TimingPlan,
    /// Layers.
    pub layers: Vec<Layer>,
    /// Hidden size (= input size).
    pub hidden: usize,
    /// Batch size.
    pub batch: usize,
    /// Sequence length.
    pub seq: usize,
    /// Bits per weight of the quantized layer.
    pub weight_bits: usize,
    /// Bits per activation of the quantized layer.
    pub act_bits: usize,
}

impl TrainStepOptions {
    /// The step: seq 35, batch 20, hidden 300, 2-bit weights and activations.
    pub fn full() -> Self {
        TrainStepOptions {
            plan: TimingPlan::FULL,
            layers: vec![Layer::Lstm, Layer::Gru],
            hidden: 300,
            batch: 20,
            seq: 35,
            weight_bits: 2,
            act_bits: 2,
        }
    }

    /// A smoke run on a small step.
    pub fn quick() -> Self {
        TrainStepOptions {
            plan: TimingPlan::QUICK,
            layers: vec![Layer::Lstm],
            hidden: 64,
            batch: 4,
            seq: 8,
            ..Self::full()
        }
    }
}

/// Loss and input-weight gradient of one step, on the host.
struct StepResult {
    loss: f32,
    grad: Vec<f32>,
}

fn check_step(what: &str, r: &StepResult) -> Result<(), SuiteError> {
    let finite = r.loss.is_finite() && r.grad.iter().all(|g| g.is_finite());
    if !finite || r.grad.iter().all(|g| *g == 0.0) {
        return Err(SuiteError::Validation(format!(
            "{what}: loss {} and a gradient that is {}",
            r.loss,
            if finite { "all zero" } else { "not finite" }
        )));
    }
    Ok(())
}

/// Runs the rows: appends JSON rows and returns the markdown table.
///
/// Errors: a failed conversion, or a step without a finite, non-zero gradient.
pub fn run(opts: &TrainStepOptions, json: &mut JsonRows) -> Result<String, SuiteError> {
    let device = Device::flex().autodiff();
    let (b, s, h) = (opts.batch, opts.seq, opts.hidden);
    let x = Tensor::<3>::from_data(TensorData::new(gaussian(b * s * h, 31), [b, s, h]), &device);
    // Targets in (−1, 1), the range of a hidden state.
    let target = Tensor::<3>::from_data(
        TensorData::new(HostState::seeded(b * s, h, 32).hidden, [b, s, h]),
        &device,
    );
    let zero = TensorState {
        hidden: Tensor::zeros([b, h], &device),
        cell: Tensor::zeros([b, h], &device),
    };
    let mut table = Table::new(&["layer", "W/A bits", "f32 ms", "QAT ms", "overhead"]);
    for &layer in &opts.layers {
        let burn_layer = BurnLayer::seeded(layer, h, WEIGHT_SEED, &device);
        let quant = burn_layer.convert(&quant_config(opts.weight_bits, Some(opts.act_bits)))?;
        let loss_of = |out: Tensor<3>| (out - target.clone()).powi_scalar(2).mean();
        let fp_step = || {
            let loss = loss_of(burn_layer.forward(x.clone(), &zero));
            let grads = loss.backward();
            StepResult {
                loss: host_values(&loss)[0],
                grad: burn_layer
                    .first_input_weight()
                    .grad(&grads)
                    .map_or_else(Vec::new, |g| host_values(&g)),
            }
        };
        let qat_step = || {
            let loss = loss_of(quant.forward(x.clone(), &zero));
            let grads = loss.backward();
            StepResult {
                loss: host_values(&loss)[0],
                grad: quant
                    .input_weight()
                    .grad(&grads)
                    .map_or_else(Vec::new, |g| host_values(&g)),
            }
        };
        check_step(&format!("{} f32 step", layer.name()), &fp_step())?;
        check_step(&format!("{} QAT step", layer.name()), &qat_step())?;
        let mut fp_op = || {
            std::hint::black_box(fp_step());
        };
        let mut qat_op = || {
            std::hint::black_box(qat_step());
        };
        let t = median_us_interleaved(opts.plan, &mut [&mut fp_op, &mut qat_op]);
        let (fp_ms, qat_ms) = (t[0] / 1e3, t[1] / 1e3);
        let overhead = qat_ms / fp_ms;
        let bits = format!("{}/{}", opts.weight_bits, opts.act_bits);
        table.push(vec![
            layer.name().to_string(),
            bits,
            format!("{fp_ms:.1}"),
            format!("{qat_ms:.1}"),
            format!("{overhead:.2}×"),
        ]);
        json.push(json!({
            "suite": "train_step", "layer": layer.name(), "hidden": h, "batch": b, "seq": s,
            "w_bits": opts.weight_bits, "a_bits": opts.act_bits,
            "fp_ms": round3(fp_ms), "qat_ms": round3(qat_ms), "overhead": round3(overhead),
        }));
    }
    let mut md = String::from("### QAT training step vs burn::nn in f32 (Flex, autodiff)\n\n");
    md.push_str(&table.to_markdown());
    md.push_str(&format!(
        "\nOne step = forward (seq {s}, batch {b}, hidden {h} = input) + MSE loss + backward + \
         reading a gradient; no optimizer step. Median per step.\n"
    ));
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_writes_one_row_per_layer() {
        let opts = TrainStepOptions {
            layers: vec![Layer::Lstm, Layer::Gru],
            hidden: 16,
            batch: 2,
            seq: 3,
            ..TrainStepOptions::quick()
        };
        let mut json = JsonRows::default();
        run(&opts, &mut json).unwrap();
        assert_eq!(json.0.len(), 2);
        for row in &json.0 {
            assert_eq!(row["suite"], "train_step");
            for key in ["fp_ms", "qat_ms", "overhead"] {
                assert!(row[key].as_f64().unwrap() > 0.0, "{key} in {row}");
            }
        }
    }
}
