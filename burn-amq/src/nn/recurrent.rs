//! Pieces shared by the recurrent layers.

use burn::prelude::*;

use crate::error::{Error, Result};
use crate::quantizer::Quantizer;
use crate::ste::maybe_quantize_ste;

/// Rejects zero-sized recurrent layers.
pub(super) fn check_dims(d_input: usize, d_hidden: usize) -> Result<()> {
    if d_input == 0 {
        return Err(Error::ZeroDimension { what: "d_input" });
    }
    if d_hidden == 0 {
        return Err(Error::ZeroDimension { what: "d_hidden" });
    }
    Ok(())
}

/// `x̂ Wᵀ + b` for all time steps in one product: `x` `[batch, seq, d]`, `weight`
/// `[rows, d]` (already quantized), `bias` `[rows]` → `[batch, seq, rows]`.
pub(super) fn input_projection(
    x: Tensor<3>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
    input_quantizer: Option<&Quantizer>,
) -> Tensor<3> {
    let [batch, seq, d_input] = x.dims();
    let [rows, _] = weight.dims();
    if batch * seq == 0 {
        // Burn's `reshape` reads a 0 as "keep this dimension", so empty inputs skip it.
        return Tensor::zeros([batch, seq, rows], &x.device());
    }
    let x = maybe_quantize_ste(input_quantizer, x);
    let projected = x.reshape([batch * seq, d_input]).matmul(weight.transpose());
    let projected = match bias {
        Some(bias) => projected + bias.unsqueeze_dim(0),
        None => projected,
    };
    projected.reshape([batch, seq, rows])
}

/// Stacks per-step states (`[batch, h]` each) into `[batch, seq, h]`.
pub(super) fn stack_steps(steps: Vec<Tensor<2>>, shape: [usize; 3], device: &Device) -> Tensor<3> {
    if steps.is_empty() {
        Tensor::zeros(shape, device)
    } else {
        Tensor::stack(steps, 1)
    }
}
