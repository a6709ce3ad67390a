//! Weights-only products by lookup tables: k_w-bit binary-coded weights × f32 activations
//! (T-MAC / BiQGEMM style).
//!
//! `out[b·m + r] = Σᵢ αᵢ[r] · Σⱼ sᵢⱼ[r] · x[b][j]` with `sᵢⱼ = ±1` from the bit planes: the
//! dequantized weight row times `x`.
//!
//! # Method
//!
//! Columns are split into groups of 4. For each activation vector and group, the 16 possible
//! signed partial sums `Σₜ ±xₜ` are precomputed once per call ([`tables`]) and quantized to
//! integers `q ∈ [−127, 127]` with one step `s` per vector (int8 tables). A weight row's
//! 4 bits of one plane in one group are a 4-bit index into that group's table, so a plane's
//! dot product is a sum of lookups: `Qᵢ[r] = Σ_g q_g(idx_{r,i,g})`. The SIMD tiers look up
//! 64 rows × 1 group per zmm `vpermb` / `vpshufb` (see [`layout`]), accumulate in u16 → i32
//! integers, and combine once per row as `out = s · Σᵢ αᵢ Qᵢ` (f64, rounded to f32 once).
//!
//! Every tier builds bit-identical tables and computes the same integer sums `Qᵢ`, and the
//! final combination is one shared body (compiled per tier, same IEEE operations per row), so
//! **all tiers give bit-identical outputs**; the tests assert exact equality with the
//! portable kernel, and byte equality of the tables.
//!
//! ## Table precision: int8 (±127)
//!
//! Measured (4096 × 1024, 2-bit random codes × N(0, 1) activations; `lut_bench`): relative
//! RMS output error **0.89 %** with ±127 tables, 1.75 % with ±63, 0.0034 % with int16
//! (±32767; the ±63 and int16 figures come from a scalar simulation of the same scheme).
//!
//! - ±63 lets the two lookups of a unit add in one byte before widening (7 instead of 9
//!   vector ops per 128 lookups with `vpermb`). An interleaved A/B of the two inner loops
//!   (`precision_ab` probe in `x86_avx512.rs`) measured ±63 about 15–25 % faster per lookup;
//!   on the whole product the difference was within this shared machine's noise. ±127 is
//!   kept: half the error for at most ~20 % of kernel time, and the 40 µs target is met.
//! - int16 tables need two byte lookups (low and high byte tables) per entry and twice the
//!   accumulation work, about 2× the time, for 250× less error. Not implemented: 0.9 % is
//!   already far below the error of 2–3-bit weight quantization itself.
//!
//! # Error analysis (what [`error_bound`] returns)
//!
//! Notation: `u = 2⁻²⁴` (f32 unit roundoff), `Q = 127`, `S_g = Σₜ∈g |xₜ|`,
//! `max = max_g S_g` (f64), `ι = Q/max`, `s = max/Q` (both f64, so `|s·ι − 1| ≤ 3·2⁻⁵³`),
//! `A = Σᵢ |αᵢ|`, `G = ⌈n/4⌉` (real groups; padding groups have `q = 0` exactly), `k` the
//! number of planes and `‖x‖₁ = Σⱼ|xⱼ|`.
//!
//! 1. *One table entry.* `zₜ = f32(xₜ·ι)` is off by at most `1.01·u·|xₜ|·ι`. The f32 sum of
//!    four `±zₜ` adds at most `γ₃ ≤ 3.01u` of `Σ|zₜ|`. Hence `|y − ι·T| ≤ 4.03·u·ι·S_g` for
//!    the exact partial sum `T`. As `ι·S_g ≤ Q·(1 + 10⁻¹⁵)`, `|y| < Q + ½`, the clamp never
//!    acts, and round-to-nearest gives `|q − y| ≤ ½`. So `|s·q − T| ≤ s/2 + 4.1·u·S_g`.
//! 2. *Sum over groups and planes.* `s·Σᵢ αᵢ Qᵢ` differs from the exact product by at most
//!    `E = A·(G·s/2 + 4.1·u·‖x‖₁)`.
//! 3. *Float combination.* `Qᵢ` are exact integers and `s·Σᵢ αᵢ Qᵢ` runs in f64: at most
//!    `(k+2)·2⁻⁵³·s·A·Q·G`. The final rounding to f32 adds at most `u·|out| ≤ u·(A‖x‖₁ + E)`
//!    (+ 2⁻¹⁴⁹ absolute for subnormal results).
//!
//! [`error_bound`] returns the sum (constants rounded up: 4.2·u, 1.01·u), rounded up to f32.
//! It is a worst case: it assumes every group's rounding error has the same sign. The typical
//! error grows like `√G` rather than `G` (≈ `s·√(G/12)` per unit of α), so on random data
//! the bound is ~`√(3G)` times the RMS error (≈ 30× at `n = 1024`). The tests check it holds
//! on every tier and shape, and that it is not vacuous: on the 4096 × 1024 Gaussian case the
//! largest error seen is ≈ 11 % of the bound, and the mean bound is ≈ 0.3 × the RMS output.
//! Outputs beyond the f32 range are not covered.
//!
//! # Threading
//!
//! The tables are built once per call on the calling thread and shared; rows (in 64-row
//! blocks) are split into a few contiguous tasks run by [`crate::par::run`]. Each task writes
//! only its own rows of `out`, so the result does not depend on the thread count.
//!
//! # Speed
//!
//! See `BENCHMARKS.md` for a same-run comparison with Burn's f32 matmul (4096 × 1024, 2-bit,
//! batch 1, AVX-512, 1 thread: 38.5 µs against 640 µs for Flex f32 in that run). Building
//! the tables is a small part of a call: ≈ 2.3 µs for n = 1024 on AVX-512 (measured with
//! `cargo test --release -p burn-amq-kernels --test lut_bench -- --ignored --nocapture`).

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
/// left untouched), [`AmqError::InvalidArgument`] for rows longer than 33 554 428 columns
/// (the i32 sums would overflow).
///
/// `scratch` holds the tables between calls: after the first call, calls with the same or a
/// smaller `batch · n` allocate nothing.
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

/// Most table groups per row: the i32 sums of biased entries (≤ 255 each) must not overflow.
const MAX_GROUPS: usize = (i32::MAX as usize) / 256;

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
    if pg > MAX_GROUPS {
        // The i32 sums of up to 255 per group would overflow.
        return Err(AmqError::InvalidArgument(format!(
            "row length {n} exceeds the lookup kernels' limit of {} columns",
            MAX_GROUPS * 4
        )));
    }
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
    let tables_all: &[u8] = &scratch.tables;
    let per_vec = pg * 16;
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
