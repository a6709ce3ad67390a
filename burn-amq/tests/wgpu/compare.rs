//! Cross-backend comparison helpers: moving a module's parameters, measuring differences and
//! making sure the seeded inputs sit clear of the quantizer's decision boundaries.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn_amq::Quantizer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::max_abs_diff;

/// Largest accepted |Flex − wgpu| difference of any compared value (outputs, states, gradients).
pub const TOLERANCE: f32 = 1e-4;

/// Perturbation size of the tie check (see [`assert_clear_of_ties`]). Float differences between
/// the backends are around 1e-6, two orders of magnitude below.
const TIE_PERTURBATION: f32 = 1e-4;

/// How much a dequantized value may move under a [`TIE_PERTURBATION`] nudge while keeping its
/// codes: the coefficients are least-squares fits, linear in the input for fixed codes, so they
/// move by a few perturbation sizes. A flipped code moves a value by twice a coefficient, far more.
const CONTINUOUS_MOVE: f32 = 10.0 * TIE_PERTURBATION;

/// Copies every float parameter of `module` onto `device` as a fresh leaf (requiring a
/// gradient on an autodiff device), so two copies start from bit-identical values.
pub fn copied_to<M: Module>(module: M, device: &Device) -> M {
    struct CopyTo<'a> {
        device: &'a Device,
    }
    impl ModuleMapper for CopyTo<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| {
                let copy = Tensor::from_data(t.to_data(), self.device);
                if copy.is_autodiff() {
                    copy.require_grad()
                } else {
                    copy
                }
            })
        }
    }
    module.map(&mut CopyTo { device })
}

/// Asserts `|flex − wgpu| ≤ TOLERANCE` elementwise and returns the largest difference.
pub fn check<const D: usize>(what: &str, flex: &Tensor<D>, wgpu: &Tensor<D>) -> f32 {
    let diff = max_abs_diff(flex, wgpu);
    println!("{what}: max |flex - wgpu| = {diff:.3e}");
    assert!(
        diff <= TOLERANCE,
        "{what}: wgpu differs from Flex by {diff} (tolerance {TOLERANCE})"
    );
    diff
}

/// Asserts that `quantizer` picks codes for the rows of `rows` (`[rows, n]`, any device) that do
/// not change when every entry is nudged by `±TIE_PERTURBATION`.
///
/// Quantization is discontinuous: an entry within float noise of a decision boundary (a
/// nearest-code midpoint, or zero for a greedy sign) may get different codes on two backends,
/// which would make a cross-backend comparison depend on rounding. Each nudge pattern is tried
/// with both signs, so for any decision whose margin is smaller than the nudge one of the two
/// crosses it and shows up as a jump far above [`CONTINUOUS_MOVE`].
pub fn assert_clear_of_ties(what: &str, rows: Tensor<2>, quantizer: Quantizer) {
    let rows = Tensor::<2>::from_data(rows.to_data(), &Device::flex());
    let [r, n] = rows.dims();
    let reference = quantizer.quantize_rows(rows.clone());
    for seed in 0..3u64 {
        let mut rng = StdRng::seed_from_u64(0x7135 + seed);
        let signs: Vec<f32> = (0..r * n)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let nudge = Tensor::<2>::from_data(TensorData::new(signs, [r, n]), &Device::flex())
            * TIE_PERTURBATION;
        for direction in [1.0f32, -1.0] {
            let nudged = rows.clone() + nudge.clone() * direction;
            let moved = max_abs_diff(&quantizer.quantize_rows(nudged), &reference);
            assert!(
                moved <= CONTINUOUS_MOVE,
                "{what}: a ±{TIE_PERTURBATION} nudge moves the {}-bit quantization by \
                 {moved}: an entry is near a decision boundary; pick another seed",
                quantizer.bits()
            );
        }
    }
}
