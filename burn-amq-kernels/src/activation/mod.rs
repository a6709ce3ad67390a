//! The gate nonlinearities of the packed recurrent layers, in place on slices, vectorized.
//!
//! A packed LSTM step at hidden 300 spends more time in its 1,500 `exp`/`tanh` calls than in
//! its bit-plane products when they go through the scalar C library one value at a time.
//! These functions evaluate `exp` with a branch-free range reduction and polynomial (the
//! Cephes `expf` scheme) that the compiler vectorizes: 16 lanes under AVX-512, 8 under AVX2.
//!
//! - `sigmoid(x) = 1 / (1 + exp(−x))`;
//! - `tanh(x) = 1 − 2 / (exp(2x) + 1)`.
//!
//! Every tier runs the same sequence of IEEE operations (no fused multiply-adds, no
//! reassociation), so all tiers give bit-identical results. Against the exact functions (f64)
//! the absolute error is below [`SIGMOID_MAX_ABS_ERROR`] and [`TANH_MAX_ABS_ERROR`] (the tests
//! sweep the useful range densely); that is a few units in the
//! last place of values near 1, the same order as rounding the result to f32. Inputs beyond
//! ±87 saturate (`exp` is evaluated at the clamp); NaN stays NaN.

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

use crate::error::Result;
use crate::tier::Tier;

/// Bound on the absolute error of [`sigmoid_in_place`] against the exact logistic function,
/// one unit in the last place of 1.0 (the tests measured 8.9e-8 over a sweep of [−20, 20]
/// in steps of 5e-5 plus extremes).
pub const SIGMOID_MAX_ABS_ERROR: f32 = 1.2e-7;
/// Bound on the absolute error of [`tanh_in_place`] against the exact tanh, two units in
/// the last place of 1.0 (measured 1.8e-7 on the same sweep).
pub const TANH_MAX_ABS_ERROR: f32 = 2.4e-7;

/// One tier's implementations.
struct Activations {
    sigmoid: unsafe fn(&mut [f32]),
    tanh: unsafe fn(&mut [f32]),
}

static PORTABLE: Activations = Activations {
    sigmoid: portable::sigmoid_in_place,
    tanh: portable::tanh_in_place,
};

#[cfg(target_arch = "x86_64")]
static AVX2: Activations = Activations {
    sigmoid: x86::sigmoid_in_place_avx2,
    tanh: x86::tanh_in_place_avx2,
};

#[cfg(target_arch = "x86_64")]
static AVX512: Activations = Activations {
    sigmoid: x86::sigmoid_in_place_avx512,
    tanh: x86::tanh_in_place_avx512,
};

/// The implementations of an available `tier`.
fn table(tier: Tier) -> Result<&'static Activations> {
    let tier = tier.require()?;
    Ok(match tier {
        #[cfg(target_arch = "x86_64")]
        Tier::Avx512 => &AVX512,
        #[cfg(target_arch = "x86_64")]
        Tier::Avx2 => &AVX2,
        // Popcnt and NEON builds have no wider float vectors to offer here than what the
        // baseline target already vectorizes for (SSE2 / NEON are part of the baseline).
        _ => &PORTABLE,
    })
}

fn active() -> &'static Activations {
    static ACTIVE: OnceLock<&'static Activations> = OnceLock::new();
    ACTIVE.get_or_init(|| table(Tier::active()).unwrap_or(&PORTABLE))
}

/// `v[i] ← 1 / (1 + exp(−v[i]))` with the [`Tier::active`] implementation.
pub fn sigmoid_in_place(v: &mut [f32]) {
    // SAFETY: `active` holds the table of an available tier (or the portable one), so its
    // target features are supported by this CPU.
    unsafe { (active().sigmoid)(v) }
}

/// `v[i] ← tanh(v[i])` with the [`Tier::active`] implementation.
pub fn tanh_in_place(v: &mut [f32]) {
    // SAFETY: as in `sigmoid_in_place`.
    unsafe { (active().tanh)(v) }
}

/// [`sigmoid_in_place`] on a given tier, or [`crate::AmqError::TierUnavailable`].
pub fn sigmoid_in_place_with(tier: Tier, v: &mut [f32]) -> Result<()> {
    let t = table(tier)?;
    // SAFETY: `table` checked that the tier is available on this CPU.
    unsafe { (t.sigmoid)(v) };
    Ok(())
}

/// [`tanh_in_place`] on a given tier, or [`crate::AmqError::TierUnavailable`].
pub fn tanh_in_place_with(tier: Tier, v: &mut [f32]) -> Result<()> {
    let t = table(tier)?;
    // SAFETY: `table` checked that the tier is available on this CPU.
    unsafe { (t.tanh)(v) };
    Ok(())
}

/// The reference: the standard library's `1 / (1 + exp(−x))`, one value at a time.
pub fn sigmoid_reference(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The reference: the standard library's `tanh`.
pub fn tanh_reference(x: f32) -> f32 {
    x.tanh()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense sweep of [-lo, lo] plus extremes.
    fn sweep() -> Vec<f32> {
        let mut v: Vec<f32> = (-400_000..=400_000).map(|i| i as f32 * 5e-5).collect();
        v.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            1e-8,
            -1e-8,
            86.9,
            -86.9,
            87.5,
            -87.5,
            88.0,
            -88.0,
            89.0,
            -89.0,
            100.0,
            -100.0,
            1e10,
            -1e10,
            f32::MAX,
            f32::MIN,
        ]);
        v
    }

    fn max_abs_error(f: impl Fn(&mut [f32]), exact: impl Fn(f64) -> f64) -> f32 {
        let xs = sweep();
        let mut ys = xs.clone();
        f(&mut ys);
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                assert!(y.is_finite(), "f({x}) = {y}");
                (y as f64 - exact(x as f64)).abs() as f32
            })
            .fold(0.0, f32::max)
    }

    #[test]
    fn every_tier_is_within_the_documented_error() {
        for tier in Tier::available() {
            let s = max_abs_error(
                |v| sigmoid_in_place_with(tier, v).unwrap(),
                |x| 1.0 / (1.0 + (-x).exp()),
            );
            let t = max_abs_error(|v| tanh_in_place_with(tier, v).unwrap(), f64::tanh);
            println!("{tier}: sigmoid max abs error {s:e}, tanh {t:e}");
            assert!(s <= SIGMOID_MAX_ABS_ERROR, "{tier}: sigmoid {s}");
            assert!(t <= TANH_MAX_ABS_ERROR, "{tier}: tanh {t}");
        }
    }

    #[test]
    fn tiers_are_bit_identical_on_awkward_lengths() {
        let xs: Vec<f32> = (0..1037)
            .map(|i| ((i * 7919) % 2001) as f32 * 0.013 - 13.0)
            .collect();
        for len in [0usize, 1, 7, 15, 16, 17, 31, 33, 300, 1037] {
            let mut expected_s = xs[..len].to_vec();
            let mut expected_t = xs[..len].to_vec();
            sigmoid_in_place_with(Tier::Portable, &mut expected_s).unwrap();
            tanh_in_place_with(Tier::Portable, &mut expected_t).unwrap();
            for tier in Tier::available() {
                let mut s = xs[..len].to_vec();
                let mut t = xs[..len].to_vec();
                sigmoid_in_place_with(tier, &mut s).unwrap();
                tanh_in_place_with(tier, &mut t).unwrap();
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&s), bits(&expected_s), "{tier} sigmoid len {len}");
                assert_eq!(bits(&t), bits(&expected_t), "{tier} tanh len {len}");
            }
        }
    }

    #[test]
    fn saturation_and_symmetry() {
        let mut v = vec![-1e4, -90.0, 0.0, 90.0, 1e4];
        sigmoid_in_place(&mut v);
        assert_eq!(v[2], 0.5);
        assert!(v[0] >= 0.0 && v[0] < 1e-37 && v[4] == 1.0, "{v:?}");
        let mut t = vec![-1e4, -20.0, 0.0, 20.0, 1e4];
        tanh_in_place(&mut t);
        assert_eq!(t, [-1.0, -1.0, 0.0, 1.0, 1.0]);
        // Close to the references the packed layers used before.
        for x in [-3.0f32, -0.5, 0.25, 2.0] {
            let mut s = [x];
            sigmoid_in_place(&mut s);
            assert!((s[0] - sigmoid_reference(x)).abs() <= SIGMOID_MAX_ABS_ERROR);
            let mut t = [x];
            tanh_in_place(&mut t);
            assert!((t[0] - tanh_reference(x)).abs() <= TANH_MAX_ABS_ERROR);
        }
    }

    #[test]
    fn unavailable_tiers_are_refused() {
        for tier in Tier::ALL {
            let mut v = [0.0f32];
            assert_eq!(
                sigmoid_in_place_with(tier, &mut v).is_ok(),
                tier.is_available()
            );
        }
    }
}
