//! The recurrent layers the `layers` and `train_step` suites compare: a seeded
//! `burn::nn::Lstm` / `Gru` and burn-amq layers converted from it (so both sides hold the same
//! weights).

use burn::nn::{Gru, GruConfig, Lstm, LstmConfig, LstmState};
use burn::prelude::*;
use burn_amq::QuantMethod;
use burn_amq::nn::{QuantGru, QuantLstm, QuantizationConfig};

/// Which recurrent layer a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `burn::nn::Lstm` / `QuantLstm` / `PackedLstm`.
    Lstm,
    /// `burn::nn::Gru` (`reset_after = true`, Burn's default) / `QuantGru` / `PackedGru`.
    Gru,
}

impl Layer {
    /// The name used in tables and JSON rows.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Lstm => "lstm",
            Layer::Gru => "gru",
        }
    }
}

/// Alternating cycles `T` of every quantizer in the suites (the paper's setting).
pub const CYCLES: usize = 2;

/// The quantization settings of a converted layer: `act_bits = None` quantizes weights only;
/// activations (`x_t` and `h_{t−1}`) are quantized when set.
pub fn quant_config(weight_bits: usize, act_bits: Option<usize>) -> QuantizationConfig {
    QuantizationConfig::new()
        .with_weight_bits(Some(weight_bits))
        .with_act_bits(act_bits)
        .with_method(QuantMethod::Alternating { cycles: CYCLES })
}

/// A `burn::nn` recurrent layer.
#[derive(Debug)]
pub enum BurnLayer {
    /// LSTM (boxed: Burn's layers are large structs of per-gate modules).
    Lstm(Box<Lstm>),
    /// GRU.
    Gru(Box<Gru>),
}

impl BurnLayer {
    /// The layer with `d_input = d_hidden = hidden` and biases, initialised from `seed` with
    /// Burn's default initializer.
    pub fn seeded(layer: Layer, hidden: usize, seed: u64, device: &Device) -> Self {
        device.seed(seed);
        match layer {
            Layer::Lstm => {
                BurnLayer::Lstm(Box::new(LstmConfig::new(hidden, hidden, true).init(device)))
            }
            Layer::Gru => {
                BurnLayer::Gru(Box::new(GruConfig::new(hidden, hidden, true).init(device)))
            }
        }
    }

    /// The burn-amq layer with the same weights.
    pub fn convert(&self, quant: &QuantizationConfig) -> burn_amq::Result<QuantLayer> {
        Ok(match self {
            BurnLayer::Lstm(l) => QuantLayer::Lstm(QuantLstm::from_lstm(l, quant)?),
            BurnLayer::Gru(g) => QuantLayer::Gru(QuantGru::from_gru(g, quant)?),
        })
    }

    /// All hidden states `[batch, seq, h]` of `x` (`[batch, seq, d]`) from `start`.
    pub fn forward(&self, x: Tensor<3>, start: &TensorState) -> Tensor<3> {
        match self {
            BurnLayer::Lstm(l) => l.forward(x, Some(start.lstm())).0,
            BurnLayer::Gru(g) => g.forward(x, Some(start.hidden.clone())),
        }
    }

    /// The weight of the first gate's input transform (to read its gradient).
    pub fn first_input_weight(&self) -> &burn::module::Param<Tensor<2>> {
        match self {
            BurnLayer::Lstm(l) => &l.input_gate.input_transform.weight,
            BurnLayer::Gru(g) => &g.update_gate.input_transform.weight,
        }
    }
}

/// A burn-amq recurrent layer.
#[derive(Debug)]
pub enum QuantLayer {
    /// LSTM.
    Lstm(QuantLstm),
    /// GRU.
    Gru(QuantGru),
}

impl QuantLayer {
    /// All hidden states `[batch, seq, h]` of `x` (`[batch, seq, d]`) from `start`, with the
    /// layer's fake-quantized forward pass.
    pub fn forward(&self, x: Tensor<3>, start: &TensorState) -> Tensor<3> {
        match self {
            QuantLayer::Lstm(l) => l.forward(x, Some(start.lstm())).0,
            QuantLayer::Gru(g) => g.forward(x, Some(start.hidden.clone())),
        }
    }

    /// The fused input weight (to read its gradient).
    pub fn input_weight(&self) -> &burn::module::Param<Tensor<2>> {
        match self {
            QuantLayer::Lstm(l) => &l.input_weight,
            QuantLayer::Gru(g) => &g.input_weight,
        }
    }
}

/// A start state as tensors, `[batch, h]` each (the cell is unused by the GRU).
#[derive(Debug, Clone)]
pub struct TensorState {
    /// `h`.
    pub hidden: Tensor<2>,
    /// `c`.
    pub cell: Tensor<2>,
}

impl TensorState {
    /// The state from host values (`[batch][h]` each).
    pub fn from_host(host: &HostState, device: &Device) -> Self {
        let shape = [host.batch, host.hidden.len() / host.batch];
        let t = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), shape), device);
        TensorState {
            hidden: t(&host.hidden),
            cell: t(&host.cell),
        }
    }

    /// As Burn's LSTM state.
    pub fn lstm(&self) -> LstmState<2> {
        LstmState::new(self.cell.clone(), self.hidden.clone())
    }
}

/// A start state on the host: `[batch][h]` each, `h` in (−1, 1) like a real hidden state.
#[derive(Debug, Clone, PartialEq)]
pub struct HostState {
    /// Number of sequences.
    pub batch: usize,
    /// `h`.
    pub hidden: Vec<f32>,
    /// `c`.
    pub cell: Vec<f32>,
}

impl HostState {
    /// A seeded state: `c ~ 0.5·N(0, 1)`, `h = tanh(c)`.
    pub fn seeded(batch: usize, hidden: usize, seed: u64) -> Self {
        let cell: Vec<f32> = crate::data::gaussian(batch * hidden, seed)
            .into_iter()
            .map(|v| 0.5 * v)
            .collect();
        HostState {
            batch,
            hidden: cell.iter().map(|c| c.tanh()).collect(),
            cell,
        }
    }
}

/// Host f32 values of a tensor.
pub fn host_values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().iter::<f32>().collect()
}

/// Largest `|a − b|`, and the largest `|b|` (the scale the difference is judged against).
pub fn max_diff_and_scale(a: &[f32], b: &[f32]) -> (f32, f32) {
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    let scale = b.iter().fold(0.0f32, |m, y| m.max(y.abs()));
    // A length mismatch or a NaN must not pass as "close".
    if a.len() != b.len() || a.iter().chain(b).any(|v| !v.is_finite()) {
        (f32::INFINITY, scale)
    } else {
        (diff, scale)
    }
}
