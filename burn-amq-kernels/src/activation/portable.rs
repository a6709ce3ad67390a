//! The shared bodies (inlined into every tier's entry point) and the portable entry points.
//!
//! Written as plain loops over independent elements with no branches, so the compiler turns
//! them into vector code for whatever target features the calling function enables.

/// Inputs are clamped to this range before `exp`: `exp(88)` ≈ 1.65e38 is still finite and
/// the scale `2ⁿ` stays a normal float (`n ∈ [−126, 127]`).
const EXP_LO: f32 = -87.0;
const EXP_HI: f32 = 88.0;
/// 1.5 · 2²³: adding and subtracting it rounds an f32 of magnitude < 2²² to an integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a part with few significant bits (exact products with small integers) and
/// the rest (Cody–Waite reduction).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Minimax coefficients of `(exp(r) − 1 − r) / r²` on `|r| ≤ ln2 / 2` (Cephes `expf`).
const P0: f32 = 1.987_569_1e-4;
const P1: f32 = 1.398_199_9e-3;
const P2: f32 = 8.333_452e-3;
const P3: f32 = 4.166_579_6e-2;
const P4: f32 = 1.666_666_5e-1;
const P5: f32 = 0.5;

/// `exp(x)` for `x` clamped to `[EXP_LO, EXP_HI]`, relative error about 2 ulp.
#[inline(always)]
pub(super) fn exp_clamped(x: f32) -> f32 {
    let x = x.clamp(EXP_LO, EXP_HI);
    let n = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let r2 = r * r;
    let p = (((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5) * r2 + r + 1.0;
    // n is an integer in [−126, 127], so the exponent field 127 + n is in [1, 254].
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

#[inline(always)]
pub(super) fn sigmoid_body(v: &mut [f32]) {
    for x in v.iter_mut() {
        *x = 1.0 / (1.0 + exp_clamped(-*x));
    }
}

#[inline(always)]
pub(super) fn tanh_body(v: &mut [f32]) {
    for x in v.iter_mut() {
        *x = 1.0 - 2.0 / (exp_clamped(2.0 * *x) + 1.0);
    }
}

/// Portable sigmoid (vectorized for the baseline target only).
///
/// # Safety
/// None required; `unsafe` only to share the tier table's function-pointer type.
pub(super) unsafe fn sigmoid_in_place(v: &mut [f32]) {
    sigmoid_body(v)
}

/// Portable tanh.
///
/// # Safety
/// None required; see [`sigmoid_in_place`].
pub(super) unsafe fn tanh_in_place(v: &mut [f32]) {
    tanh_body(v)
}
