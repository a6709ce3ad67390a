//! `amq-bench layers`: packed recurrent layers against `burn::nn::Lstm` / `Gru` in f32 on
//! Flex, in one process, with the same weights.
//!
//! For every layer (LSTM, GRU), hidden size `h` (input size = `h`) and batch, a seeded
//! `burn::nn` layer is built and converted with `QuantLstm::from_lstm` / `QuantGru::from_gru`
//! for each bit setting, then packed (`pack()`). Two kinds of rows:
//!
//! - **one step** (`seq = 1`): the f32 side is the Burn layer's `forward` on a `[batch, 1, h]`
//!   input from a given state (what a streaming caller does); the packed side is `step` on
//!   `[batch][h]` with its state. Both include everything a step needs: with activation bits
//!   that is the online quantization of `x_t` and of `h_{t−1}`, both products, the gates.
//! - **sequence** (`seq = 35`): `forward` over a `[batch, 35, h]` input from the same state on
//!   both sides.
//!
//! Threads: each thread-count group runs inside one rayon pool of that size (Flex
//! parallelises on the current rayon pool) and the packed layers are set to the same count
//! with [`PackedLstm::set_par`] ([`Par::Seq`] for 1 thread), so single-thread rows are single
//! thread on both sides. With more threads the packed side is [`Par::Threads`]: it splits
//! every product, even small ones, while Flex parallelises only above its own threshold.
//!
//! **Hidden-state quantization share** (`quant_share`): the time of
//! [`ActivationQuantizer::quantize_batch_into`] on a `[batch][h]` hidden state (the values the
//! packed step just produced) with the layer's bits and method — the very call the packed
//! recurrent product makes on `h_{t−1}`, into buffers of the same shape — sampled interleaved
//! with the step itself, divided by the packed step time (for sequence rows: `seq` of them
//! divided by the sequence time). It counts `h_{t−1}` only; the input `x_t` (same size here)
//! is quantized once more per step and is part of the step time but not of the share. Null for
//! weights-only rows, which quantize no activation.
//!
//! Before timing, each case is checked: the full-precision conversion equals the Burn layer on
//! one step, and every packed step equals the quantized layer's own Flex forward pass (to float
//! rounding on the popcount path, within the lookup tables' error on the weights-only path).

use std::cell::RefCell;

use burn::prelude::*;
use burn_amq::nn::QuantizationConfig;
use burn_amq::packed::{PackOptions, PackedGru, PackedLstm, PackedLstmState, WeightsOnlyProduct};
use burn_amq_kernels::quant::{ActivationQuantizer, Method};
use burn_amq_kernels::{BitPlanesMut, Par, Tier, words_for};
use serde_json::json;

use super::recurrent::{
    BurnLayer, CYCLES, HostState, Layer, QuantLayer, TensorState, host_values, max_diff_and_scale,
    quant_config,
};
use super::{SuiteError, par_for, rayon_pool};
use crate::data::gaussian;
use crate::report::{JsonRows, Table, fmt_us, round3};
use crate::timing::{TimingPlan, median_us_interleaved};

/// Seed of the Burn layers' initialisation.
const WEIGHT_SEED: u64 = 41;

/// Popcount path: packed step vs the quantized layer's forward, relative to the output scale.
/// Both quantize with the same kernels, so only float rounding separates them.
const POPCOUNT_REL_TOL: f32 = 1e-3;

/// Weights-only path: the packed product runs on int8 lookup tables (≈ 0.9 % relative RMS
/// error on the product). The largest difference seen on the full suite's cases was 2.4e-2.
const LOOKUP_REL_TOL: f32 = 0.05;

/// Full-precision conversion vs the Burn layer (fused vs per-gate products: float rounding).
const CONVERSION_TOL: f32 = 1e-4;

/// Weight and activation bits of one packed variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bits {
    /// Bits per weight.
    pub weight: usize,
    /// Bits per activation vector; `None` = weights only (products on f32 inputs).
    pub act: Option<usize>,
    /// The product on f32 inputs when `act` is `None` (exact masked sums or lookup tables).
    pub weights_only: WeightsOnlyProduct,
}

impl Bits {
    /// `weight`/`act` bits (weights-only variants use the default, exact product).
    pub const fn new(weight: usize, act: Option<usize>) -> Self {
        Bits {
            weight,
            act,
            weights_only: WeightsOnlyProduct::Exact,
        }
    }

    /// A weights-only variant with the lookup-table product.
    pub const fn lookup(weight: usize) -> Self {
        Bits {
            weight,
            act: None,
            weights_only: WeightsOnlyProduct::Lookup,
        }
    }

    fn pack_options(self) -> PackOptions {
        PackOptions::default().with_weights_only(self.weights_only)
    }

    /// Name of the weights-only product, `None` with activation bits.
    fn product_name(self) -> Option<&'static str> {
        match (self.act, self.weights_only) {
            (Some(_), _) => None,
            (None, WeightsOnlyProduct::Exact) => Some("exact"),
            (None, WeightsOnlyProduct::Lookup) => Some("lookup"),
        }
    }

    fn label(self) -> String {
        match (self.act, self.product_name()) {
            (Some(a), _) => format!("{}/{a}", self.weight),
            (None, Some(p)) => format!("{}/f32 {p}", self.weight),
            (None, None) => format!("{}/f32", self.weight),
        }
    }
}

/// Options of the layers suite.
#[derive(Debug, Clone)]
pub struct LayersOptions {
    /// Timing plan.
    pub plan: TimingPlan,
    /// Layers.
    pub layers: Vec<Layer>,
    /// Hidden sizes (the input size equals the hidden size).
    pub hiddens: Vec<usize>,
    /// Batch sizes.
    pub batches: Vec<usize>,
    /// Length of the sequence rows (every case also gets a one-step row).
    pub seq: usize,
    /// Packed variants.
    pub bits: Vec<Bits>,
    /// Thread counts.
    pub threads: Vec<usize>,
}

impl LayersOptions {
    /// The rows the issue asks for, plus 2-thread rows.
    pub fn full() -> Self {
        LayersOptions {
            plan: TimingPlan::FULL,
            layers: vec![Layer::Lstm, Layer::Gru],
            hiddens: vec![300, 1024],
            batches: vec![1, 20],
            seq: 35,
            bits: vec![
                Bits::new(2, Some(2)),
                Bits::new(2, Some(3)),
                Bits::new(3, Some(3)),
                Bits::new(2, None),
                Bits::lookup(2),
            ],
            threads: vec![1, 2],
        }
    }

    /// A smoke run: every code path, small shapes, few repetitions.
    pub fn quick() -> Self {
        LayersOptions {
            plan: TimingPlan::QUICK,
            layers: vec![Layer::Lstm, Layer::Gru],
            hiddens: vec![300],
            batches: vec![1, 3],
            seq: 35,
            bits: vec![Bits::new(2, Some(2)), Bits::new(2, None), Bits::lookup(2)],
            threads: vec![1, 2],
        }
    }
}

/// A packed layer, the start state of every measurement and the state it steps.
enum Packed {
    Lstm {
        layer: PackedLstm,
        start: PackedLstmState,
        state: PackedLstmState,
    },
    Gru {
        layer: PackedGru,
        batch: usize,
        start: Vec<f32>,
        state: Vec<f32>,
    },
}

impl Packed {
    fn new(
        quant: &QuantLayer,
        start: &HostState,
        par: Par,
        options: &PackOptions,
    ) -> Result<Self, SuiteError> {
        Ok(match quant {
            QuantLayer::Lstm(l) => {
                let mut layer = l.pack_with(options)?;
                layer.set_par(par);
                let start = PackedLstmState::new(
                    start.batch,
                    layer.d_hidden(),
                    start.hidden.clone(),
                    start.cell.clone(),
                )?;
                Packed::Lstm {
                    layer,
                    state: start.clone(),
                    start,
                }
            }
            QuantLayer::Gru(g) => {
                let mut layer = g.pack_with(options)?;
                layer.set_par(par);
                Packed::Gru {
                    layer,
                    batch: start.batch,
                    state: start.hidden.clone(),
                    start: start.hidden.clone(),
                }
            }
        })
    }

    /// Back to the start state.
    fn reset(&mut self) {
        match self {
            Packed::Lstm { start, state, .. } => state.clone_from(start),
            Packed::Gru { start, state, .. } => state.copy_from_slice(start),
        }
    }

    /// One step on `x` (`[batch][d]`) from the current state.
    fn step(&mut self, x: &[f32]) -> burn_amq::Result<()> {
        match self {
            Packed::Lstm { layer, state, .. } => layer.step(x, state),
            Packed::Gru {
                layer,
                batch,
                state,
                ..
            } => layer.step(x, *batch, state),
        }
    }

    /// The current hidden state `[batch][h]`.
    fn hidden(&self) -> &[f32] {
        match self {
            Packed::Lstm { state, .. } => state.hidden(),
            Packed::Gru { state, .. } => state,
        }
    }

    /// All hidden states of `x` (`[batch][seq][d]`) from the start state.
    fn sequence(&mut self, x: &[f32], seq: usize) -> burn_amq::Result<Vec<f32>> {
        match self {
            Packed::Lstm { layer, start, .. } => {
                let batch = start.batch();
                Ok(layer.forward(x, batch, seq, Some(start))?.0)
            }
            Packed::Gru {
                layer,
                batch,
                start,
                ..
            } => layer.forward(x, *batch, seq, Some(start)),
        }
    }
}

/// The call the packed recurrent product makes on `h_{t−1}`, on its own.
struct HiddenQuantizer {
    quantizer: ActivationQuantizer,
    batch: usize,
    hidden: Vec<f32>,
    alphas: Vec<f32>,
    planes: Vec<u64>,
}

impl HiddenQuantizer {
    fn new(hidden: &[f32], batch: usize, bits: usize) -> Result<Self, SuiteError> {
        let n = hidden.len() / batch;
        Ok(HiddenQuantizer {
            quantizer: ActivationQuantizer::new(n, bits, Method::Alternating { cycles: CYCLES })?,
            batch,
            hidden: hidden.to_vec(),
            alphas: vec![0.0; batch * bits],
            planes: vec![0; batch * bits * words_for(n)],
        })
    }

    fn run(&mut self) -> burn_amq_kernels::Result<()> {
        let (n, bits) = (self.quantizer.n(), self.quantizer.bits());
        let mut view = BitPlanesMut::new(
            self.batch,
            n,
            bits,
            &mut self.alphas[..],
            &mut self.planes[..],
        )?;
        self.quantizer.quantize_batch_into(&self.hidden, &mut view)
    }
}

/// Worst differences seen by the checks, relative to the output scale.
#[derive(Debug, Default)]
struct Checks {
    conversion: f32,
    popcount: f32,
    lookup: f32,
    cases: usize,
}

/// Inputs of one (layer, hidden, batch) case.
struct Inputs {
    batch: usize,
    seq: usize,
    start: HostState,
    start_t: TensorState,
    x_step: Vec<f32>,
    x_step_t: Tensor<3>,
    x_seq: Vec<f32>,
    x_seq_t: Tensor<3>,
}

impl Inputs {
    fn new(batch: usize, hidden: usize, seq: usize, device: &Device) -> Self {
        let start = HostState::seeded(batch, hidden, 11);
        let x_step = gaussian(batch * hidden, 21);
        let x_seq = gaussian(batch * seq * hidden, 22);
        let tensor = |v: &[f32], s: usize| {
            Tensor::<3>::from_data(TensorData::new(v.to_vec(), [batch, s, hidden]), device)
        };
        Inputs {
            batch,
            seq,
            start_t: TensorState::from_host(&start, device),
            start,
            x_step_t: tensor(&x_step, 1),
            x_step,
            x_seq_t: tensor(&x_seq, seq),
            x_seq,
        }
    }
}

/// Checks that the converted layers hold the Burn layer's weights and that each packed step
/// computes its quantized layer's function; leaves every packed layer at its start state.
fn validate(
    burn_layer: &BurnLayer,
    full_precision: &QuantLayer,
    variants: &[(Bits, QuantLayer)],
    packed: &mut [Packed],
    inputs: &Inputs,
    checks: &mut Checks,
    what: &str,
) -> Result<(), SuiteError> {
    let reference = host_values(&burn_layer.forward(inputs.x_step_t.clone(), &inputs.start_t));
    let converted = host_values(&full_precision.forward(inputs.x_step_t.clone(), &inputs.start_t));
    let (d, scale) = max_diff_and_scale(&converted, &reference);
    let rel = d / scale.max(1e-6);
    if rel > CONVERSION_TOL {
        return Err(SuiteError::Validation(format!(
            "{what}: full-precision conversion differs from the Burn layer by {rel:e} (relative)"
        )));
    }
    checks.conversion = checks.conversion.max(rel);
    for ((bits, quant), packed) in variants.iter().zip(packed.iter_mut()) {
        let expected = host_values(&quant.forward(inputs.x_step_t.clone(), &inputs.start_t));
        packed.reset();
        packed.step(&inputs.x_step)?;
        let (d, scale) = max_diff_and_scale(packed.hidden(), &expected);
        let rel = d / scale.max(1e-6);
        let (tol, worst) = match bits.act {
            Some(_) => (POPCOUNT_REL_TOL, &mut checks.popcount),
            None => (LOOKUP_REL_TOL, &mut checks.lookup),
        };
        if rel > tol {
            return Err(SuiteError::Validation(format!(
                "{what} {}: packed step differs from the quantized layer's forward by {rel:e} \
                 (relative, tolerance {tol:e})",
                bits.label()
            )));
        }
        *worst = worst.max(rel);
        // The sequence API must produce finite states over the whole sequence too.
        let outputs = packed.sequence(&inputs.x_seq, inputs.seq)?;
        if outputs.iter().any(|v| !v.is_finite()) {
            return Err(SuiteError::Validation(format!(
                "{what} {}: non-finite packed sequence output",
                bits.label()
            )));
        }
    }
    checks.cases += 1;
    Ok(())
}

/// Timed medians of one case, µs.
struct Timings {
    f32_step: f64,
    packed_step: Vec<f64>,
    /// Per variant: hidden-state quantization of one step (`None` for weights only).
    quant: Vec<Option<f64>>,
    f32_seq: f64,
    packed_seq: Vec<f64>,
}

fn time_case(
    plan: TimingPlan,
    device: &Device,
    burn_layer: &BurnLayer,
    variants: &[(Bits, QuantLayer)],
    packed: &mut [Packed],
    inputs: &Inputs,
) -> Result<Timings, SuiteError> {
    let failure: RefCell<Option<SuiteError>> = RefCell::new(None);
    let fail = |e: SuiteError| {
        failure.borrow_mut().get_or_insert(e);
    };
    // One quantizer per distinct activation width, fed the hidden state of a real step
    // (`validate` left the packed layers at their start state).
    let mut quantizers: Vec<(usize, HiddenQuantizer)> = Vec::new();
    for ((bits, _), p) in variants.iter().zip(packed.iter_mut()) {
        if let Some(a) = bits.act
            && quantizers.iter().all(|(k, _)| *k != a)
        {
            p.step(&inputs.x_step)?;
            quantizers.push((a, HiddenQuantizer::new(p.hidden(), inputs.batch, a)?));
            p.reset();
        }
    }

    // Steps: the f32 step, every packed step and the hidden-state quantizers, interleaved.
    let mut f32_step = || {
        let y = burn_layer.forward(inputs.x_step_t.clone(), &inputs.start_t);
        let _ = device.sync();
        std::hint::black_box(y);
    };
    let mut packed_steps: Vec<Box<dyn FnMut() + '_>> = packed
        .iter_mut()
        .map(|p| {
            Box::new(|| {
                if let Err(e) = p.step(&inputs.x_step) {
                    fail(e.into());
                }
                std::hint::black_box(p.hidden());
            }) as Box<dyn FnMut()>
        })
        .collect();
    let mut quant_ops: Vec<Box<dyn FnMut() + '_>> = quantizers
        .iter_mut()
        .map(|(_, q)| {
            Box::new(|| {
                if let Err(e) = q.run() {
                    fail(e.into());
                }
                std::hint::black_box(&q.planes);
            }) as Box<dyn FnMut()>
        })
        .collect();
    let mut ops: Vec<&mut dyn FnMut()> = vec![&mut f32_step];
    ops.extend(
        packed_steps
            .iter_mut()
            .map(|b| &mut **b as &mut dyn FnMut()),
    );
    ops.extend(quant_ops.iter_mut().map(|b| &mut **b as &mut dyn FnMut()));
    let t = median_us_interleaved(plan, &mut ops);
    drop(ops);
    drop(packed_steps);
    drop(quant_ops);
    let n = packed.len();
    let quant = variants
        .iter()
        .map(|(bits, _)| {
            bits.act.map(|a| {
                let i = quantizers.iter().position(|(k, _)| *k == a).unwrap_or(0);
                t[1 + n + i]
            })
        })
        .collect();
    let (f32_step_us, packed_step_us) = (t[0], t[1..=n].to_vec());

    // Sequences from the start state.
    let mut f32_seq = || {
        let y = burn_layer.forward(inputs.x_seq_t.clone(), &inputs.start_t);
        let _ = device.sync();
        std::hint::black_box(y);
    };
    let mut packed_seqs: Vec<Box<dyn FnMut() + '_>> = packed
        .iter_mut()
        .map(|p| {
            Box::new(|| match p.sequence(&inputs.x_seq, inputs.seq) {
                Ok(out) => {
                    std::hint::black_box(out);
                }
                Err(e) => fail(e.into()),
            }) as Box<dyn FnMut()>
        })
        .collect();
    let mut ops: Vec<&mut dyn FnMut()> = vec![&mut f32_seq];
    ops.extend(packed_seqs.iter_mut().map(|b| &mut **b as &mut dyn FnMut()));
    let s = median_us_interleaved(plan, &mut ops);
    drop(ops);
    drop(packed_seqs);

    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    Ok(Timings {
        f32_step: f32_step_us,
        packed_step: packed_step_us,
        quant,
        f32_seq: s[0],
        packed_seq: s[1..].to_vec(),
    })
}

/// One table row and JSON row.
struct Row<'a> {
    layer: Layer,
    hidden: usize,
    batch: usize,
    seq: usize,
    threads: usize,
    bits: Bits,
    f32_us: f64,
    packed_us: f64,
    /// Hidden-state quantization time of the whole row (one step, or `seq` steps).
    quant_us: Option<f64>,
    tier: &'a str,
}

impl Row<'_> {
    fn push(&self, table: &mut Table, json: &mut JsonRows) {
        let speedup = self.f32_us / self.packed_us;
        let share = self.quant_us.map(|q| q / self.packed_us);
        table.push(vec![
            self.layer.name().to_string(),
            self.hidden.to_string(),
            self.batch.to_string(),
            self.seq.to_string(),
            self.threads.to_string(),
            self.bits.label(),
            fmt_us(self.f32_us),
            fmt_us(self.packed_us),
            format!("{speedup:.1}×"),
            share.map_or("–".to_string(), |s| format!("{:.0} %", 100.0 * s)),
        ]);
        json.push(json!({
            "suite": "layers", "layer": self.layer.name(), "hidden": self.hidden,
            "batch": self.batch, "seq": self.seq, "threads": self.threads,
            "w_bits": self.bits.weight, "a_bits": self.bits.act, "tier": self.tier,
            "weights_only_product": self.bits.product_name(),
            "f32_us": round3(self.f32_us), "packed_us": round3(self.packed_us),
            "speedup": round3(speedup), "quant_us": self.quant_us.map(round3),
            "quant_share": share.map(round3),
        }));
    }
}

/// Runs the suite: appends JSON rows and returns the markdown table.
///
/// Errors: a failed layer or kernel call, or a failed check (see the module docs).
pub fn run(opts: &LayersOptions, json: &mut JsonRows) -> Result<String, SuiteError> {
    let device = Device::flex();
    let tier = Tier::active();
    let mut table = Table::new(&[
        "layer",
        "hidden",
        "batch",
        "seq",
        "threads",
        "W/A bits",
        "f32 Flex µs",
        "packed µs",
        "speedup",
        "h quant share",
    ]);
    let mut checks = Checks::default();
    for &threads in &opts.threads {
        rayon_pool(threads)?.install(|| -> Result<(), SuiteError> {
            for &layer in &opts.layers {
                for &hidden in &opts.hiddens {
                    let burn_layer = BurnLayer::seeded(layer, hidden, WEIGHT_SEED, &device);
                    let full_precision =
                        burn_layer.convert(&QuantizationConfig::full_precision())?;
                    let variants = opts
                        .bits
                        .iter()
                        .map(|&b| Ok((b, burn_layer.convert(&quant_config(b.weight, b.act))?)))
                        .collect::<Result<Vec<_>, SuiteError>>()?;
                    for &batch in &opts.batches {
                        let inputs = Inputs::new(batch, hidden, opts.seq, &device);
                        let mut packed = variants
                            .iter()
                            .map(|(b, q)| {
                                Packed::new(q, &inputs.start, par_for(threads), &b.pack_options())
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        let what = format!("{} h={hidden} batch={batch}", layer.name());
                        validate(
                            &burn_layer,
                            &full_precision,
                            &variants,
                            &mut packed,
                            &inputs,
                            &mut checks,
                            &what,
                        )?;
                        let t = time_case(
                            opts.plan,
                            &device,
                            &burn_layer,
                            &variants,
                            &mut packed,
                            &inputs,
                        )?;
                        for (i, (bits, _)) in variants.iter().enumerate() {
                            let row = |seq, f32_us, packed_us, quant_us| Row {
                                layer,
                                hidden,
                                batch,
                                seq,
                                threads,
                                bits: *bits,
                                f32_us,
                                packed_us,
                                quant_us,
                                tier: tier.name(),
                            };
                            row(1, t.f32_step, t.packed_step[i], t.quant[i]).push(&mut table, json);
                            let seq_quant = t.quant[i].map(|q| q * opts.seq as f64);
                            row(opts.seq, t.f32_seq, t.packed_seq[i], seq_quant)
                                .push(&mut table, json);
                        }
                    }
                }
            }
            Ok(())
        })?;
    }
    let mut md = String::from("### Packed LSTM / GRU vs burn::nn in f32 (Flex)\n\n");
    md.push_str(&table.to_markdown());
    md.push_str(&format!(
        "\nMedians per call; input size = hidden size; kernel tier {}. seq 1 = one step from a \
         given state, seq {} = forward over the sequence. Both sides run with the row's thread \
         count (packed with more than 1: every product split across them). \"h quant share\": time of quantizing the hidden state (alternating, T = {CYCLES}) \
         ÷ packed time; the input x_t is quantized as well and counts in packed µs only.\n\
         Checks ({} cases): full-precision conversion vs Burn ≤ {:.1e}, packed step vs the \
         quantized layer's Flex forward ≤ {:.1e} (popcount) / {:.1e} (weights only, lookup \
         tables), relative to the output scale.\n",
        tier.name(),
        opts.seq,
        checks.cases,
        checks.conversion,
        checks.popcount,
        checks.lookup,
    ));
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread setting of a packed layer changes how the work is split, not the result.
    #[test]
    fn packed_threads_do_not_change_the_output() {
        let device = Device::flex();
        for layer in [Layer::Lstm, Layer::Gru] {
            let burn_layer = BurnLayer::seeded(layer, 96, 5, &device);
            for bits in [Bits::new(2, Some(3)), Bits::new(2, None), Bits::lookup(2)] {
                let q = burn_layer
                    .convert(&quant_config(bits.weight, bits.act))
                    .unwrap();
                let inputs = Inputs::new(3, 96, 4, &device);
                let options = bits.pack_options();
                let mut seq = Packed::new(&q, &inputs.start, Par::Seq, &options).unwrap();
                let mut two = Packed::new(&q, &inputs.start, Par::Threads(2), &options).unwrap();
                let a = seq.sequence(&inputs.x_seq, inputs.seq).unwrap();
                let b = two.sequence(&inputs.x_seq, inputs.seq).unwrap();
                assert_eq!(a, b, "{layer:?} {bits:?}");
            }
        }
    }

    /// The checks accept the real layers and reject a packed layer of other weights.
    #[test]
    fn validation_accepts_matching_and_rejects_foreign_weights() {
        let device = Device::flex();
        let burn_layer = BurnLayer::seeded(Layer::Lstm, 64, 5, &device);
        let fp = burn_layer
            .convert(&QuantizationConfig::full_precision())
            .unwrap();
        let bits = [Bits::new(2, Some(2)), Bits::new(2, None), Bits::lookup(2)];
        let variants: Vec<_> = bits
            .iter()
            .map(|b| {
                (
                    *b,
                    burn_layer.convert(&quant_config(b.weight, b.act)).unwrap(),
                )
            })
            .collect();
        let inputs = Inputs::new(2, 64, 3, &device);
        let mut packed: Vec<_> = variants
            .iter()
            .map(|(b, q)| Packed::new(q, &inputs.start, Par::Seq, &b.pack_options()).unwrap())
            .collect();
        let mut checks = Checks::default();
        validate(
            &burn_layer,
            &fp,
            &variants,
            &mut packed,
            &inputs,
            &mut checks,
            "ok",
        )
        .unwrap();
        assert_eq!(checks.cases, 1);
        assert!(checks.popcount <= POPCOUNT_REL_TOL && checks.lookup <= LOOKUP_REL_TOL);

        let other = BurnLayer::seeded(Layer::Lstm, 64, 6, &device);
        let mut foreign: Vec<_> = bits
            .iter()
            .map(|b| {
                let q = other.convert(&quant_config(b.weight, b.act)).unwrap();
                Packed::new(&q, &inputs.start, Par::Seq, &b.pack_options()).unwrap()
            })
            .collect();
        let err = validate(
            &burn_layer,
            &fp,
            &variants,
            &mut foreign,
            &inputs,
            &mut checks,
            "foreign",
        )
        .unwrap_err();
        assert!(matches!(err, SuiteError::Validation(_)), "{err}");
    }

    /// A whole (tiny) run: one row per case, variant and kind, with the issue's fields.
    #[test]
    fn run_writes_the_rows_the_issue_names() {
        let opts = LayersOptions {
            plan: TimingPlan::QUICK,
            layers: vec![Layer::Lstm, Layer::Gru],
            hiddens: vec![32],
            batches: vec![2],
            seq: 3,
            bits: vec![Bits::new(2, Some(2)), Bits::new(2, None), Bits::lookup(2)],
            threads: vec![1],
        };
        let mut json = JsonRows::default();
        let md = run(&opts, &mut json).unwrap();
        assert!(md.contains("Checks (2 cases)"), "{md}");
        assert_eq!(json.0.len(), opts.layers.len() * opts.bits.len() * 2);
        for row in &json.0 {
            assert_eq!(row["suite"], "layers");
            for key in [
                "layer",
                "hidden",
                "batch",
                "seq",
                "w_bits",
                "f32_us",
                "packed_us",
            ] {
                assert!(!row[key].is_null(), "{key} in {row}");
            }
            let weights_only = row["a_bits"].is_null();
            assert_eq!(row["quant_share"].is_null(), weights_only, "{row}");
            assert!(row["speedup"].as_f64().unwrap() > 0.0);
        }
    }
}
