//! Direct quantization (the paper's Tables 1–2): the trained full-precision weights are
//! quantized row-wise without retraining, activations stay f32.

use burn::module::Param;
use burn::nn::{GateController, Linear};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn_amq_kernels::Par;
use burn_amq_kernels::quant::{Method, quantize_rows};

use crate::error::{Error, Result};
use crate::model::{FpLanguageModel, FpRnn};

/// Which weight matrices [`quantize_weights_in`] quantizes (the rest stay f32), so the
/// damage of each part of the model can be measured on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatrixGroup {
    /// The embedding table.
    Embedding,
    /// Every gate's input and recurrent matrix.
    Recurrent,
    /// The output projection.
    Decoder,
}

impl MatrixGroup {
    /// All groups, in model order.
    pub const ALL: [MatrixGroup; 3] = [Self::Embedding, Self::Recurrent, Self::Decoder];

    /// The flag name (`embedding`, `recurrent`, `decoder`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedding => "embedding",
            Self::Recurrent => "recurrent",
            Self::Decoder => "decoder",
        }
    }

    /// Parses a flag name.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|g| g.name() == name)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown matrix group `{name}` (expected embedding, recurrent or decoder)"
                ))
            })
    }
}

/// One quantized matrix: its error and how peaked its rows are.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixError {
    /// Name, e.g. `gru.new_gate.hidden`.
    pub name: String,
    /// `‖W − Ŵ‖²`.
    pub sq_error: f64,
    /// `‖W‖²`.
    pub sq_norm: f64,
    /// Median over the quantized rows of `max|w| / rms(w)` (√n for a row with one nonzero
    /// entry, about 3–4 for Gaussian rows of a few hundred entries): how far single entries
    /// stand out, which decides whether the greedy start can give them a level.
    pub median_peak_to_rms: f64,
}

/// Squared reconstruction error of the quantized matrices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuantError {
    /// One entry per matrix, in model order.
    pub matrices: Vec<MatrixError>,
}

impl QuantError {
    /// `Σ‖W − Ŵ‖² / Σ‖W‖²` over all matrices (the pooled relative squared error).
    pub fn relative(&self) -> f64 {
        let (err, norm) = self
            .matrices
            .iter()
            .fold((0.0, 0.0), |(e, n), m| (e + m.sq_error, n + m.sq_norm));
        ratio(err, norm)
    }

    /// `(matrix name, ‖W − Ŵ‖² / ‖W‖²)` per matrix.
    pub fn per_matrix(&self) -> impl Iterator<Item = (&str, f64)> {
        self.matrices
            .iter()
            .map(|m| (m.name.as_str(), ratio(m.sq_error, m.sq_norm)))
    }

    /// `(matrix name, median row max|w| / rms(w))` per matrix.
    pub fn peak_to_rms(&self) -> impl Iterator<Item = (&str, f64)> {
        self.matrices
            .iter()
            .map(|m| (m.name.as_str(), m.median_peak_to_rms))
    }
}

/// `err / norm`, 0 for an all-zero matrix.
fn ratio(err: f64, norm: f64) -> f64 {
    if norm > 0.0 { err / norm } else { 0.0 }
}

/// Median over the rows of `max|w| / rms(w)`; all-zero rows are left out (0 when all are).
fn median_peak_to_rms(values: &[f32], n: usize) -> f64 {
    let mut ratios: Vec<f64> = values
        .chunks_exact(n)
        .filter_map(|row| {
            let sq: f64 = row.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            let peak = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            (sq > 0.0).then(|| f64::from(peak) / (sq / n as f64).sqrt())
        })
        .collect();
    if ratios.is_empty() {
        return 0.0;
    }
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// Row-wise quantization of a `[rows, n]` tensor; `transposed` quantizes its columns
/// instead (burn's `Linear` stores `[d_input, d_output]`, so an output unit is a column).
fn quantize_matrix(
    w: Tensor<2>,
    transposed: bool,
    bits: usize,
    method: Method,
    name: &str,
    stats: &mut QuantError,
) -> Result<Tensor<2>> {
    let device = w.device();
    let w = if transposed { w.transpose() } else { w };
    let [rows, n] = w.dims();
    let values: Vec<f32> = w
        .into_data()
        .try_to_vec_as::<f32>()
        .map_err(|e| Error::InvalidArgument(format!("{name}: cannot read weights: {e:?}")))?;
    let q = quantize_rows(&values, rows, n, bits, method, Par::Auto)?;
    let norm: f64 = values.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    stats.matrices.push(MatrixError {
        name: name.to_owned(),
        sq_error: q.sq_error(),
        sq_norm: norm,
        median_peak_to_rms: median_peak_to_rms(&values, n),
    });
    let out = Tensor::<2>::from_data(TensorData::new(q.dequantize(), [rows, n]), &device);
    Ok(if transposed { out.transpose() } else { out })
}

fn quantize_linear(
    linear: &mut Linear,
    bits: usize,
    method: Method,
    name: &str,
    stats: &mut QuantError,
) -> Result<()> {
    let w = quantize_matrix(linear.weight.val(), true, bits, method, name, stats)?;
    linear.weight = Param::from_tensor(w);
    Ok(())
}

fn quantize_gate(
    gate: &mut GateController,
    bits: usize,
    method: Method,
    name: &str,
    stats: &mut QuantError,
) -> Result<()> {
    quantize_linear(
        &mut gate.input_transform,
        bits,
        method,
        &format!("{name}.input"),
        stats,
    )?;
    quantize_linear(
        &mut gate.hidden_transform,
        bits,
        method,
        &format!("{name}.hidden"),
        stats,
    )
}

/// A copy of `model` whose weight matrices (embedding, every gate's input and recurrent
/// matrix, decoder) are replaced by their `bits`-bit quantization with `method`, one
/// coefficient vector per output unit; biases are kept. Also returns the errors.
pub fn quantize_weights(
    model: &FpLanguageModel,
    bits: usize,
    method: Method,
) -> Result<(FpLanguageModel, QuantError)> {
    quantize_weights_in(model, bits, method, &MatrixGroup::ALL)
}

/// [`quantize_weights`] restricted to the matrices of `groups`; the others keep their
/// f32 values and are left out of the returned errors.
pub fn quantize_weights_in(
    model: &FpLanguageModel,
    bits: usize,
    method: Method,
    groups: &[MatrixGroup],
) -> Result<(FpLanguageModel, QuantError)> {
    let mut stats = QuantError::default();
    let mut q = model.clone();
    if groups.contains(&MatrixGroup::Embedding) {
        let table = quantize_matrix(
            q.embedding.weight.val(),
            false,
            bits,
            method,
            "embedding",
            &mut stats,
        )?;
        q.embedding.weight = Param::from_tensor(table);
    }
    if groups.contains(&MatrixGroup::Recurrent) {
        quantize_rnn(&mut q.rnn, bits, method, &mut stats)?;
    }
    if groups.contains(&MatrixGroup::Decoder) {
        quantize_linear(&mut q.decoder, bits, method, "decoder", &mut stats)?;
    }
    Ok((q, stats))
}

fn quantize_rnn(
    rnn: &mut FpRnn,
    bits: usize,
    method: Method,
    stats: &mut QuantError,
) -> Result<()> {
    let gates: Vec<(&str, &mut GateController)> = match rnn {
        FpRnn::Lstm(lstm) => {
            let mut gates = vec![("lstm.input_gate", &mut lstm.input_gate)];
            if let Some(forget) = &mut lstm.forget_gate {
                gates.push(("lstm.forget_gate", forget));
            }
            gates.push(("lstm.cell_gate", &mut lstm.cell_gate));
            gates.push(("lstm.output_gate", &mut lstm.output_gate));
            gates
        }
        FpRnn::Gru(gru) => vec![
            ("gru.update_gate", &mut gru.update_gate),
            ("gru.reset_gate", &mut gru.reset_gate),
            ("gru.new_gate", &mut gru.new_gate),
        ],
    };
    for (name, gate) in gates {
        quantize_gate(gate, bits, method, name, stats)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LmConfig;

    /// A small random full-precision model on Flex.
    fn tiny_model(seed: u64, vocab: usize, d_embedding: usize, d_hidden: usize) -> FpLanguageModel {
        let device = Device::flex();
        device.seed(seed);
        LmConfig::new(vocab)
            .with_d_embedding(d_embedding)
            .with_d_hidden(d_hidden)
            .init_fp(&device)
            .unwrap()
    }

    #[test]
    fn errors_shrink_with_bits_and_alternating_beats_greedy() {
        let model = tiny_model(3, 50, 16, 12);
        let rel = |bits, method| quantize_weights(&model, bits, method).unwrap().1.relative();
        let alt = Method::Alternating { cycles: 2 };
        assert!(rel(2, alt) > rel(3, alt) && rel(3, alt) > rel(4, alt));
        assert!(rel(2, alt) <= rel(2, Method::Greedy) + 1e-12);
        let (q, stats) = quantize_weights(&model, 2, alt).unwrap();
        // 1 embedding + 4 gates × 2 + 1 decoder matrices.
        assert_eq!(stats.matrices.len(), 10);
        // The quantized decoder has at most 4 distinct values per output unit (column).
        let w: Vec<f32> = q.decoder.weight.val().into_data().try_to_vec().unwrap();
        let [d_in, d_out] = q.decoder.weight.dims();
        let mut column: Vec<f32> = (0..d_in).map(|i| w[i * d_out]).collect();
        column.sort_by(f32::total_cmp);
        column.dedup();
        assert!(column.len() <= 4, "{column:?}");
    }

    #[test]
    fn peak_to_rms_sees_a_single_large_entry() {
        // Row 1: one nonzero entry of 4, so max / rms = √n; row 0: all equal, ratio 1;
        // row 2: zero, left out. The median of [1, 2] (n = 4) is the upper one.
        let values = [1.0, 1.0, 1.0, 1.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(median_peak_to_rms(&values, 4), 2.0);
        assert_eq!(median_peak_to_rms(&[0.0; 8], 4), 0.0);
    }

    #[test]
    fn groups_quantize_only_their_matrices() {
        let model = tiny_model(4, 40, 8, 6);
        let alt = Method::Alternating { cycles: 2 };
        let (q, stats) = quantize_weights_in(&model, 2, alt, &[MatrixGroup::Decoder]).unwrap();
        let names: Vec<&str> = stats.per_matrix().map(|(n, _)| n).collect();
        assert_eq!(names, ["decoder"]);
        let same = |a: Tensor<2>, b: Tensor<2>| {
            let a: Vec<f32> = a.into_data().try_to_vec().unwrap();
            let b: Vec<f32> = b.into_data().try_to_vec().unwrap();
            a == b
        };
        assert!(same(q.embedding.weight.val(), model.embedding.weight.val()));
        assert!(!same(q.decoder.weight.val(), model.decoder.weight.val()));
        let (_, all) = quantize_weights(&model, 2, alt).unwrap();
        let recurrent = quantize_weights_in(&model, 2, alt, &[MatrixGroup::Recurrent])
            .unwrap()
            .1;
        assert_eq!(recurrent.matrices.len(), 8);
        // Pooled error of the parts equals the error of the whole, matrix by matrix.
        assert_eq!(all.matrices[1..9], recurrent.matrices[..]);
        assert!(MatrixGroup::parse("decoder").is_ok());
        assert!(MatrixGroup::parse("softmax").is_err());
    }
}
