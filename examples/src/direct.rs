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

/// Squared reconstruction error of the quantized matrices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuantError {
    /// `(matrix name, ‖W − Ŵ‖², ‖W‖²)` per matrix.
    pub matrices: Vec<(String, f64, f64)>,
}

impl QuantError {
    /// `Σ‖W − Ŵ‖² / Σ‖W‖²` over all matrices (the pooled relative squared error).
    pub fn relative(&self) -> f64 {
        let (err, norm) = self
            .matrices
            .iter()
            .fold((0.0, 0.0), |(e, n), (_, me, mn)| (e + me, n + mn));
        if norm > 0.0 { err / norm } else { 0.0 }
    }
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
    stats.matrices.push((name.to_owned(), q.sq_error(), norm));
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
    let mut stats = QuantError::default();
    let mut q = model.clone();
    let table = quantize_matrix(
        q.embedding.weight.val(),
        false,
        bits,
        method,
        "embedding",
        &mut stats,
    )?;
    q.embedding.weight = Param::from_tensor(table);
    match &mut q.rnn {
        FpRnn::Lstm(lstm) => {
            quantize_gate(
                &mut lstm.input_gate,
                bits,
                method,
                "lstm.input_gate",
                &mut stats,
            )?;
            if let Some(forget) = &mut lstm.forget_gate {
                quantize_gate(forget, bits, method, "lstm.forget_gate", &mut stats)?;
            }
            quantize_gate(
                &mut lstm.cell_gate,
                bits,
                method,
                "lstm.cell_gate",
                &mut stats,
            )?;
            quantize_gate(
                &mut lstm.output_gate,
                bits,
                method,
                "lstm.output_gate",
                &mut stats,
            )?;
        }
        FpRnn::Gru(gru) => {
            quantize_gate(
                &mut gru.update_gate,
                bits,
                method,
                "gru.update_gate",
                &mut stats,
            )?;
            quantize_gate(
                &mut gru.reset_gate,
                bits,
                method,
                "gru.reset_gate",
                &mut stats,
            )?;
            quantize_gate(&mut gru.new_gate, bits, method, "gru.new_gate", &mut stats)?;
        }
    }
    quantize_linear(&mut q.decoder, bits, method, "decoder", &mut stats)?;
    Ok((q, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LmConfig;

    #[test]
    fn errors_shrink_with_bits_and_alternating_beats_greedy() {
        let device = Device::flex();
        device.seed(3);
        let model = LmConfig::new(50)
            .with_d_embedding(16)
            .with_d_hidden(12)
            .init_fp(&device)
            .unwrap();
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
}
