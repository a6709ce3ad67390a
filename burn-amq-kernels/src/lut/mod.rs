//! Weights-only products by lookup tables: k_w-bit binary-coded weights × f32 activations
//! (T-MAC / BiQGEMM style).
//!
//! `out[b·m + r] = Σᵢ αᵢ[r] · Σⱼ sᵢⱼ[r] · x[b][j]` with `sᵢⱼ = ±1` from the bit planes: the
//! dequantized weight row times `x`.
//!
//! # Method
//!
//! Columns are split into groups of 4. For each activation vector and group, the 16 possible
//! signed partial sums `Σₜ ±xₜ` are precomputed once per call ([`tables`]), quantized to
//! integers `q ∈ [−63, 63]` with one step `s` per vector. A weight row's 4 bits of one plane
//! in one group are then a 4-bit index into that table, so a plane's dot product is a sum of
//! table lookups: `Qᵢ[r] = Σ_g q_g(idx_{r,i,g})`. The SIMD tiers do 64 lookups per zmm
//! `vpermb` / `vpshufb` (64 rows × 1 group, see [`layout`]), accumulate in integers, and the result is
//! combined once per row as `out = s · Σᵢ αᵢ Qᵢ` (f64, rounded to f32 at the end).
//!
//! Every tier builds bit-identical tables and computes the same integer sums `Qᵢ`; the
//! float combination is one shared scalar function, so **all tiers give bit-identical
//! outputs** (the tests assert exact equality with the portable kernel).
//!
//! ## Why int8 tables with |q| ≤ 63
//!
//! Two biased entries (`q + 64 ∈ 1..=127`) add in one unsigned byte, so a 64-byte load of
//! nibble pairs costs 1 shift + 2 lookups + 1 byte add + a 3-op widening into u16 (7 zmm
//! operations per 128 lookups with `vpermb`, see [`layout`]). Full int8 (±127) would need
//! the widening before the add (10 operations, +40 %) for half the step; int16 tables need
//! two byte lookups per entry (≈ 2× the time) for 2⁸ × less error. Measured relative RMS error of the chosen tables on
//! N(0, 1) data is ≈ 0.5 % (4096 × 1024, 2-bit; see the `lut_accuracy` test and the timing
//! report), well under the error of 2–3-bit weight quantization itself, so the cheaper
//! tables win; the int8-±127 and int16 errors quoted in the report are simulated by the
//! accuracy test, not implemented as kernels.
//!
//! # Error analysis (what [`error_bound`] returns)
//!
//! Notation: `u = 2⁻²⁴` (f32 unit roundoff), `S_g = Σₜ∈g |xₜ|`, `max = max_g S_g` (f64),
//! `ι = 63/max`, `s = max/63` (both f64, so `|s·ι − 1| ≤ 3·2⁻⁵³`), `A = Σᵢ |αᵢ|`,
//! `G = ⌈n/4⌉` (real groups; padding groups have `q = 0` exactly) and `‖x‖₁ = Σⱼ|xⱼ|`.
//!
//! 1. *One table entry.* `zₜ = f32(xₜ·ι)` is off by at most `1.01·u·|xₜ|·ι`. The f32 sum of four
//!    `±zₜ` adds at most `γ₃ ≤ 3.01u` of `Σ|zₜ|`. Hence `|y − ι·T| ≤ 4.03·u·ι·S_g` for the exact
//!    partial sum `T`. As `ι·S_g ≤ 63·(1 + 10⁻¹⁵)`, `|y| < 63.5`, the clamp never acts, and
//!    round-to-nearest gives `|q − y| ≤ ½`. So `|s·q − T| ≤ s/2 + 4.1·u·S_g`.
//! 2. *Sum over groups and planes.* `s·Σᵢ αᵢ Qᵢ` differs from the exact product by at most
//!    `E = A·(G·s/2 + 4.1·u·‖x‖₁)`.
//! 3. *Float combination.* `Qᵢ` are exact integers, `Σᵢ αᵢ Qᵢ · s` runs in f64: at most
//!    `(k+2)·2⁻⁵³·s·A·63·G`. The final rounding to f32 adds at most `u·|out| ≤ u·(A‖x‖₁ + E)`
//!    (+ 2⁻¹⁴⁹ absolute for subnormal results).
//!
//! [`error_bound`] returns the sum (with the constants rounded up: 4.2·u, 1.01·u), rounded
//! up to f32. It is a worst case: it assumes every group's rounding error has the same sign.
//! The typical error grows like `√G` rather than `G` (≈ `A·s·√(G/12)`), so on random data
//! the bound is ~`√(3G)` times the RMS error (≈ 30× at `n = 1024`), which the tests check
//! (the bound is met with margin, and is not vacuous compared with the output size).
//! Outputs beyond the f32 range are not covered.
//!
//! # Threading
//!
//! The tables are built once per call on the calling thread and shared; rows (in 16-row
//! blocks) are split into a few contiguous tasks run by [`crate::par::run`]. Each task writes
//! only its own rows of `out`, so the result does not depend on the thread count.

pub mod layout;
pub mod reference;
pub mod tables;

#[cfg(target_arch = "aarch64")]
mod aarch64_neon;
mod dispatch;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86_avx2;
#[cfg(target_arch = "x86_64")]
mod x86_avx512;

pub use layout::LutWeights;
pub use tables::LutScratch;

use crate::error::{AmqError, Result, check_len};
use crate::par::{Par, SharedMut, run};
use crate::tier::Tier;
use dispatch::Kernels;
use layout::BLOCK_ROWS;
use tables::{BIAS, QMAX};

/// `out[b·m + r] = Σᵢ αᵢ[r]·(bit-plane row) · x[b]` with lookup tables, on the active tier
/// ([`Tier::active`]). `x` is `[batch][n]`, `out` is `[batch][m]`.
///
/// Errors: [`AmqError::Empty`] for `batch == 0`, [`AmqError::LengthMismatch`] for wrong `x` or
/// `out` lengths, [`AmqError::NonFinite`] if `x` holds a NaN or an infinity (then `out` is
/// left untouched).
pub fn lut_matmul(
    w: &LutWeights,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
    scratch: &mut LutScratch,
    par: Par,
) -> Result<()> {
    run_with(dispatch::active(), w, x, batch, out, scratch, par)
}

/// [`lut_matmul`] on a chosen tier ([`AmqError::TierUnavailable`] if this CPU lacks it).
/// Every tier returns bit-identical results.
pub fn lut_matmul_with(
    tier: Tier,
    w: &LutWeights,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
    scratch: &mut LutScratch,
    par: Par,
) -> Result<()> {
    run_with(dispatch::kernels(tier)?, w, x, batch, out, scratch, par)
}

fn check_shapes(w: &LutWeights, x: &[f32], batch: usize) -> Result<()> {
    if batch == 0 {
        return Err(AmqError::Empty { what: "batch" });
    }
    let expected = batch.checked_mul(w.n()).ok_or_else(|| {
        AmqError::InvalidArgument(format!("batch {batch} × n {} overflows", w.n()))
    })?;
    check_len("x", expected, x.len())
}

fn run_with(
    k: Kernels,
    w: &LutWeights,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
    scratch: &mut LutScratch,
    par: Par,
) -> Result<()> {
    check_shapes(w, x, batch)?;
    check_len("out", batch.saturating_mul(w.rows()), out.len())?;
    let (n, m, bits) = (w.n(), w.rows(), w.bits());
    let pg = w.padded_groups();
    tables::build_all(k.build, x, batch, n, pg, scratch)?;

    let blocks = w.blocks();
    // Work in "64-bit word operations": one unit is 64 rows × 8 columns of one plane.
    let work = (blocks * bits * w.units() * batch).saturating_mul(8);
    let threads = par.threads_for(work, blocks);
    let n_tasks = if threads > 1 {
        (threads * 2).min(blocks)
    } else {
        1
    };
    let per_task = blocks.div_ceil(n_tasks);
    let (tables_all, per_vec): (&[u8], usize) = (&scratch.tables, pg * 16);
    let scales: &[f64] = &scratch.scales;
    let out_ptr = SharedMut(out.as_mut_ptr());
    let bias_total = BIAS * pg as i32;
    let task = |t: usize| {
        let mut raw = [0i32; BLOCK_ROWS * crate::MAX_BITS];
        let mut res = [0.0f32; BLOCK_ROWS];
        // Copy the whole `SharedMut` (which is `Sync`) into the task, not just its raw field.
        let dst = out_ptr;
        for block in t * per_task..((t + 1) * per_task).min(blocks) {
            let r0 = block * BLOCK_ROWS;
            let rows_here = (m - r0).min(BLOCK_ROWS);
            let alphas = w.block_alphas(block);
            for b in 0..batch {
                let tab = &tables_all[b * per_vec..(b + 1) * per_vec];
                // SAFETY: `k.block` and `k.combine` come from `dispatch::kernels`, which only
                // returns kernels of a tier whose CPU features were detected at run time.
                // `tab` holds 32·units bytes, `raw` 64·MAX_BITS ≥ 64·bits values
                // and `alphas` 64·bits, as the kernels require.
                unsafe {
                    (k.block)(w, block, tab, &mut raw);
                    (k.combine)(
                        alphas,
                        &raw[..bits * BLOCK_ROWS],
                        bias_total,
                        scales[b],
                        &mut res,
                    );
                }
                // SAFETY: b < batch and r0 + rows_here ≤ m, so the range b·m + r0 .. + rows_here
                // is inside `out` (batch·m); every task owns a disjoint range of blocks (rows),
                // so no two tasks write the same element, and `run` returns only after all
                // tasks have finished.
                unsafe {
                    std::ptr::copy_nonoverlapping(res.as_ptr(), dst.0.add(b * m + r0), rows_here)
                };
            }
        }
    };
    run(threads, n_tasks, &task);
    Ok(())
}

/// Per output (`[batch][m]`, like `out`), a rigorous bound on `|lut − exact|`, where `exact` is
/// the real-valued product of the dequantized weights and `x` (see the module docs for the
/// derivation). Same errors as [`lut_matmul`].
pub fn error_bound(w: &LutWeights, x: &[f32], batch: usize) -> Result<Vec<f32>> {
    check_shapes(w, x, batch)?;
    crate::error::check_finite("x", x)?;
    let (n, m, bits) = (w.n(), w.rows(), w.bits());
    let u = f64::powi(2.0, -24);
    let u64_ = f64::powi(2.0, -53);
    let g = n.div_ceil(4) as f64;
    let a_sums: Vec<f64> = w
        .alphas()
        .chunks_exact(bits)
        .map(|a| a.iter().map(|v| v.abs() as f64).sum::<f64>())
        .collect();
    let mut bound = Vec::with_capacity(batch * m);
    for b in 0..batch {
        let (max, l1) = tables::vector_stats(&x[b * n..(b + 1) * n]);
        let (_, s) = tables::scale_for(max);
        for &a in &a_sums {
            let e = a * (g * s / 2.0 + 4.2 * u * l1);
            let comb = (bits as f64 + 2.0) * u64_ * 1.01 * s * a * QMAX as f64 * g;
            let round = 1.01 * u * (a * l1 + e) + f64::powi(2.0, -149);
            let total = (e + comb + round) * (1.0 + 1e-12);
            // Round up to the next f32 so the bound stays an upper bound.
            let f = total as f32;
            bound.push(if (f as f64) < total {
                f32::from_bits(f.to_bits() + 1)
            } else {
                f
            });
        }
    }
    Ok(bound)
}
