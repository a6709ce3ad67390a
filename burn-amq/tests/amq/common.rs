//! Test helpers.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// Host values of a tensor.
pub fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().iter::<f32>().collect()
}

/// Largest absolute elementwise difference.
pub fn max_abs_diff<const D: usize>(a: &Tensor<D>, b: &Tensor<D>) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    values(a)
        .iter()
        .zip(values(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// `[rows, n]` i.i.d. N(0, 1) values from a seeded generator.
pub fn gaussian_rows(rows: usize, n: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = StdRng::seed_from_u64(seed);
    let v: Vec<f32> = (0..rows * n).map(|_| rng.sample(StandardNormal)).collect();
    Tensor::from_data(TensorData::new(v, [rows, n]), device)
}

/// A seeded random tensor of any rank, N(0, 1).
pub fn gaussian<const D: usize>(dims: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let n = dims.iter().product::<usize>();
    gaussian_rows(1, n, seed, device).reshape(dims)
}

/// Mean over rows of `‖x − q‖² / ‖x‖²`.
pub fn mean_relative_error(x: &Tensor<2>, q: &Tensor<2>) -> f64 {
    let [rows, n] = x.dims();
    let (xv, qv) = (values(x), values(q));
    (0..rows)
        .map(|r| {
            let row = r * n..(r + 1) * n;
            let err: f64 = xv[row.clone()]
                .iter()
                .zip(&qv[row.clone()])
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum();
            let norm: f64 = xv[row].iter().map(|a| f64::from(*a).powi(2)).sum();
            err / norm
        })
        .sum::<f64>()
        / rows as f64
}

/// Replaces every float parameter of `module` with seeded N(0, 1) values (scaled 0.4 for
/// matrices, 0.1 for vectors), in traversal order, so a test's layers do not depend on the
/// device's random generator, which tests running in parallel share.
pub fn reseeded<M: Module>(module: M, seed: u64) -> M {
    struct Reseed {
        seed: u64,
    }
    impl burn::module::ModuleMapper for Reseed {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            self.seed += 1;
            let seed = self.seed;
            param.map(|t| {
                let scale = if D == 1 { 0.1 } else { 0.4 };
                gaussian(t.dims(), seed, &t.device()) * scale
            })
        }
    }
    module.map(&mut Reseed { seed: seed * 1000 })
}
