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

/// The input products `x̂_t Ŵᵀ + b` of every time step: `x` `[batch, seq, d]`, `weight`
/// `[rows, d]` (already quantized), `bias` `[rows]`.
///
/// Without autodiff they are one batched product over all steps. With autodiff, taking step `t`
/// out of a batched `[batch, seq, rows]` result would cost a zero tensor of that full shape in
/// the backward pass (Burn's slice backward), `O(seq² · batch · rows)` over a sequence — on a
/// 35-step, 300-unit LSTM training step that was the largest part of the gap to
/// `burn::nn::Lstm`. There each step's product is taken from its own slice of `x̂` instead
/// (as `burn::nn` does): free in the backward pass when `x` is data, and `d` rather than `rows`
/// wide when it is not.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per forward pass"
)]
pub(super) enum InputProjection {
    /// All steps' products, `[batch, seq, rows]`.
    Batched(Tensor<3>),
    /// Per-step products on demand.
    PerStep {
        /// The (quantized) input `[batch, seq, d]`.
        x: Tensor<3>,
        /// `Ŵᵀ`, `[d, rows]`.
        weight_t: Tensor<2>,
        /// `[1, rows]`.
        bias: Option<Tensor<2>>,
    },
}

impl InputProjection {
    /// Quantizes `x` with `input_quantizer` (when set) and prepares the products.
    pub(super) fn new(
        x: Tensor<3>,
        weight: Tensor<2>,
        bias: Option<Tensor<1>>,
        input_quantizer: Option<&Quantizer>,
    ) -> Self {
        let [batch, seq, _] = x.dims();
        if x.is_autodiff() && batch * seq > 0 {
            InputProjection::PerStep {
                x: maybe_quantize_ste(input_quantizer, x),
                weight_t: weight.transpose(),
                bias: bias.map(|b| b.unsqueeze_dim(0)),
            }
        } else {
            InputProjection::Batched(batched_projection(x, weight, bias, input_quantizer))
        }
    }

    /// Step `t`'s products, `[batch, rows]`.
    pub(super) fn step(&self, t: usize) -> Tensor<2> {
        match self {
            InputProjection::Batched(projected) => projected.clone().narrow(1, t, 1).squeeze_dim(1),
            InputProjection::PerStep { x, weight_t, bias } => {
                let x_t: Tensor<2> = x.clone().narrow(1, t, 1).squeeze_dim(1);
                let product = x_t.matmul(weight_t.clone());
                match bias {
                    Some(bias) => product + bias.clone(),
                    None => product,
                }
            }
        }
    }
}

/// `x̂ Wᵀ + b` for all time steps in one product → `[batch, seq, rows]`.
fn batched_projection(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantizer::QuantMethod;
    use burn::tensor::Distribution;

    fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
        t.to_data().iter::<f32>().collect()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
    }

    /// The autodiff path (per-step products) computes the batched products and the same
    /// gradients.
    #[test]
    fn per_step_products_match_the_batched_product_and_its_gradients() {
        let device = Device::flex().autodiff();
        device.seed(9);
        let (batch, seq, d, rows) = (3, 5, 7, 8);
        let quantizer = Quantizer::new(2, QuantMethod::default()).unwrap();
        let x = Tensor::<3>::random([batch, seq, d], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let w =
            Tensor::<2>::random([rows, d], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let b = Tensor::<1>::random([rows], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let loss_of = |p: &InputProjection| {
            (0..seq)
                .map(|t| p.step(t).powi_scalar(2).sum() * (t as f32 + 1.0))
                .reduce(|a, b| a + b)
                .unwrap()
        };
        let per_step =
            InputProjection::new(x.clone(), w.clone(), Some(b.clone()), Some(&quantizer));
        assert!(matches!(per_step, InputProjection::PerStep { .. }));
        let batched = InputProjection::Batched(batched_projection(
            x.clone(),
            w.clone(),
            Some(b.clone()),
            Some(&quantizer),
        ));
        for t in 0..seq {
            let d = max_diff(&values(&per_step.step(t)), &values(&batched.step(t)));
            assert!(d < 1e-5, "step {t}: {d}");
        }
        let (g1, g2) = (loss_of(&per_step).backward(), loss_of(&batched).backward());
        for (name, a, b) in [
            (
                "x",
                x.grad(&g1).map(|g| values(&g)),
                x.grad(&g2).map(|g| values(&g)),
            ),
            (
                "w",
                w.grad(&g1).map(|g| values(&g)),
                w.grad(&g2).map(|g| values(&g)),
            ),
            (
                "b",
                b.grad(&g1).map(|g| values(&g)),
                b.grad(&g2).map(|g| values(&g)),
            ),
        ] {
            let (a, b) = (a.unwrap(), b.unwrap());
            let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let d = max_diff(&a, &b);
            assert!(d <= 1e-4 * scale, "{name}: {d}");
        }
        // Without autodiff, the batched product.
        let plain = InputProjection::new(x.inner(), w.inner(), Some(b.inner()), None);
        assert!(matches!(plain, InputProjection::Batched(_)));
    }
}
