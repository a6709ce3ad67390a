//! Gradient clipping by the global norm over all parameters.
//!
//! Burn's `GradientClipping::Norm` clips every parameter tensor on its own; the paper's
//! recipe (like PyTorch's `clip_grad_norm_`) rescales all gradients together so that their
//! joint L2 norm is at most the threshold.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let sq: f32 = grad.square().sum().into_scalar();
            self.sum += f64::from(sq);
        }
    }
}

struct Scale {
    grads: GradientsParams,
    factor: f32,
}

impl ModuleVisitor for Scale {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, grad.mul_scalar(self.factor));
        }
    }
}

/// The global L2 norm of the gradients of `module`'s parameters.
pub fn grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let mut visitor = SquaredNorm { grads, sum: 0.0 };
    module.visit(&mut visitor);
    visitor.sum.sqrt()
}

/// Rescales all gradients by `min(1, max_norm / ‖g‖)`.
pub fn clip_grad_norm<M: Module>(
    module: &M,
    grads: GradientsParams,
    max_norm: f32,
) -> GradientsParams {
    let norm = grad_norm(module, &grads);
    if norm.is_nan() || norm <= f64::from(max_norm) {
        // Within the bound (or NaN, which no rescaling can fix): unchanged.
        return grads;
    }
    let mut visitor = Scale {
        grads,
        factor: (f64::from(max_norm) / norm) as f32,
    };
    module.visit(&mut visitor);
    visitor.grads
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    #[test]
    fn rescales_all_gradients_jointly() {
        let device = Device::flex().autodiff();
        let linear = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::ones([4, 3], &device).mul_scalar(10.0);
        let grads = GradientsParams::from_grads(linear.forward(x).sum().backward(), &linear);
        let before = grad_norm(&linear, &grads);
        assert!(before > 1.0);
        let weight_before: Vec<f32> = grads
            .get::<2>(linear.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let clipped = clip_grad_norm(&linear, grads, 0.5);
        assert!((grad_norm(&linear, &clipped) - 0.5).abs() < 1e-4);
        // Direction kept: every entry scaled by the same factor.
        let weight_after: Vec<f32> = clipped
            .get::<2>(linear.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let factor = 0.5 / before;
        for (a, b) in weight_before.iter().zip(&weight_after) {
            assert!((f64::from(*a) * factor - f64::from(*b)).abs() < 1e-5);
        }
        // Small gradients are left alone.
        let same = clip_grad_norm(&linear, clipped, 10.0);
        assert!((grad_norm(&linear, &same) - 0.5).abs() < 1e-4);
    }
}
