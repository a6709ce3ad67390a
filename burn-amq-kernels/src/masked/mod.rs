//! Weights-only products by masked sums: k_w-bit binary-coded weights × f32 activations,
//! exact up to f32 rounding.
//!
//! `out[b·m + r] = Σᵢ αᵢ[r] · Σⱼ sᵢⱼ[r] · x[b][j]` with `sᵢⱼ = ±1` from the bit planes: the
//! dequantized weight row times `x`, the same product as [`lut`](crate::lut) computes, but
//! without its int8 tables.
//!
//! # Method
//!
//! For one plane `bᵢ` of a row, let `Pᵢ = Σ_{j: bit j set} xⱼ` (the `+1` entries) and
//! `S = Σⱼ xⱼ`. The `−1` entries sum to `S − Pᵢ`, so `bᵢ · x = Pᵢ − (S − Pᵢ) = 2Pᵢ − S` and
//!
//! `out = Σᵢ αᵢ · (2Pᵢ − S)`.
//!
//! `S` is computed once per batch item per call; each `Pᵢ` is a sum of `x` under a bit mask
//! taken straight from the plane words: on AVX-512 one `vaddps` with a 16-bit write mask
//! (the plane's next 16 bits) per 16 columns; on AVX2 the 16 bits are expanded to two lane
//! masks (broadcast, AND with the lane bits, compare), which select `x` before the add; the
//! portable tier selects lane by lane. The plane words are used as they are stored
//! ([`BitPlanesRef`], row-major `[row][plane][word]`): no repacking.
//!
//! # Why it is exact (to f32 rounding)
//!
//! Nothing is approximated: the weights are exactly `Σᵢ αᵢ bᵢ` and every `xⱼ` enters its sums
//! unchanged. The only errors are the f32 roundings of the sums `Pᵢ` and `S`, then tiny f64
//! roundings and one final rounding to f32. The [`lut`](crate::lut) product instead rounds each
//! 4-column partial sum to one of 255 levels (≈ 0.9 % relative RMS error on Gaussian data);
//! here the relative error is of the order of f32's unit roundoff, like a plain f32 product of
//! the dequantized weights (the fake-quantized forward).
//!
//! ## Summation order (bit-identical across tiers)
//!
//! Every sum (`Pᵢ` and `S`) uses one fixed order, on every tier:
//!
//! - 16 lanes: lane `l` adds `x[16c + l]` (when selected) for chunks `c = 0, 1, …` in order,
//!   starting from `+0.0`;
//! - then the lanes are reduced as `l + (l+8)`, then `+ (l+4)`, then `+ (l+2)`, then lane 0
//!   `+` lane 1.
//!
//! An unselected lane either skips the add (AVX-512 write mask) or adds `+0.0` (AVX2,
//! portable), which is the same thing: a lane that starts at `+0.0` can never hold `−0.0`
//! in round-to-nearest, and `v + (+0.0) = v` for every other `v`. Columns past `n` are never
//! read, so bits set in the padding (which the bit convention forbids, but [`BitPlanesRef`]
//! does not check) do not change the result. The final combination
//! `Σᵢ αᵢ · (2Pᵢ − S)` runs in f64 (rounded to f32 once) in code shared by all tiers, so
//! **every tier gives bit-identical outputs**; the tests assert exact equality with the
//! portable tier.
//!
//! ## Error bound (what [`error_bound`] returns)
//!
//! Notation: `u = 2⁻²⁴`, `h = ⌈n/16⌉` (the most terms one lane adds), `A = Σᵢ |αᵢ|`,
//! `L = Σⱼ |xⱼ|`, `γ = (h+3)·u / (1 − (h+3)·u)`.
//!
//! 1. Each `xⱼ` passes through at most `h − 1` lane additions (the first add to `+0.0` is
//!    exact) and 4 reduction additions, so `|P̂ᵢ − Pᵢ| ≤ γ · Σ_{selected} |xⱼ|` and
//!    `|Ŝ − S| ≤ γ · L`. Hence `|(2P̂ᵢ − Ŝ) − (2Pᵢ − S)| ≤ 3γ·L` (because `|2Pᵢ − S| ≤ L`).
//! 2. `2P̂ᵢ − Ŝ`, the products with `αᵢ` and the sum over `k` planes run in f64: at most
//!    `(k+1)·2⁻⁵³` relative to `A·L·(1 + 3γ)`.
//! 3. The final rounding to f32 adds `u·|out|` (plus `2⁻¹⁵⁰` for subnormal results).
//!
//! Total: `|out − exact| ≤ A·L·(3γ + (1 + 3γ)·(u + (k+1)·2⁻⁵³)) + 2⁻¹⁵⁰`, i.e. about
//! `(3⌈n/16⌉ + 10)·u·A·L`. A plain f32 dot product of the dequantized row has the worst-case
//! bound `≈ n·u·Σⱼ|wⱼ xⱼ|`: the same kind of error. Like every worst-case summation bound it
//! assumes all roundings line up; on random data the error grows like `√h` rather than `h`
//! (the tests check that on Gaussian data the relative RMS error is no worse than that of a
//! sequential f32 dot of the dequantized weights). Outputs beyond the f32 range are not
//! covered.
//!
//! # Cost, against the lookup tables
//!
//! Instruction counts per batch item (AVX-512; not timings):
//!
//! - this product: one masked `vaddps` per 16 weight bits (16 columns of one plane), i.e.
//!   `k·n/16` per row, plus one mask load per 16 bits shared by the item tile;
//! - [`lut`](crate::lut): 9 vector byte operations per 64 rows × 8 columns of one plane
//!   (512 weight bits), ≈ 57 bits per instruction, so about 3.5× fewer instructions, plus a
//!   table build per call, at the price of its ≈ 0.9 % table error;
//! - an f32 product over the dequantized weights: one FMA per 16 weights, `n/16` per row, so
//!   `k` times fewer instructions than here, but it reads 32/k times more weight bytes.
//!
//! So this product does the most arithmetic of the three. Against the f32 product it keeps
//! the exactness and reads 32/k times fewer weight bytes, which suits memory-bound cases
//! (batch 1, large matrices) and any place where outputs must agree with the fake-quantized
//! forward to float rounding; use [`lut`](crate::lut) where speed matters more than the
//! table error. The AVX2 tier needs 5 instructions to expand each 16-bit mask (shared by the
//! item tile) and 4 per item, about 9× the AVX-512 count at batch 1.
//!
//! # Kernel structure and threading
//!
//! Rows are processed in blocks of [`BLOCK_ROWS`]. A block's `rows · k` planes are
//! consecutive in memory; each is a *stream* of masks. The batch is split into chunks of
//! [`BATCH_CHUNK`] items (for which `S` is computed once) and each chunk into tiles of at
//! most 4 items (2 on AVX2). For each block and item tile, a tier's kernel sums a tile of
//! streams × items with all accumulators in registers (16 on AVX-512, 4 on AVX2), so every
//! mask is loaded once per item tile and applied to all its items, and every `x` vector is
//! loaded once per stream tile. The block's weights stay in L1 across its item tiles, so
//! weight traffic from memory does not grow with the batch (up to [`BATCH_CHUNK`] items).
//!
//! Blocks are split into a few contiguous tasks (up to 4 per thread) on the [`crate::par`]
//! pool when the work is large enough ([`Par::threads_for`]); each task writes only its own
//! rows of `out`, so the result does not depend on the thread count. No allocation.
//!
//! The NEON and `popcnt` tiers run the portable kernel (no NEON kernel is written yet).

// Tile tables: map a run-time tile `(streams, items)` to the const-generic kernel instance.
// `tiles16!` covers the AVX-512 register budget (16 accumulators: 16 × 1, 8 × 2, 4 × 3,
// 4 × 4), `tiles4!` the AVX2 one (4 accumulators of two ymm each: 4 × 1, 2 × 2). The
// kernels only ask for sizes in their table (see `x86_avx512::max_streams`).
#[cfg(target_arch = "x86_64")]
macro_rules! tiles16 {
    ($ns:expr, $bt:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match ($ns, $bt) {
            (1, 1) => $f::<1, 1>($($arg),*),
            (2, 1) => $f::<2, 1>($($arg),*),
            (3, 1) => $f::<3, 1>($($arg),*),
            (4, 1) => $f::<4, 1>($($arg),*),
            (5, 1) => $f::<5, 1>($($arg),*),
            (6, 1) => $f::<6, 1>($($arg),*),
            (7, 1) => $f::<7, 1>($($arg),*),
            (8, 1) => $f::<8, 1>($($arg),*),
            (9, 1) => $f::<9, 1>($($arg),*),
            (10, 1) => $f::<10, 1>($($arg),*),
            (11, 1) => $f::<11, 1>($($arg),*),
            (12, 1) => $f::<12, 1>($($arg),*),
            (13, 1) => $f::<13, 1>($($arg),*),
            (14, 1) => $f::<14, 1>($($arg),*),
            (15, 1) => $f::<15, 1>($($arg),*),
            (16, 1) => $f::<16, 1>($($arg),*),
            (1, 2) => $f::<1, 2>($($arg),*),
            (2, 2) => $f::<2, 2>($($arg),*),
            (3, 2) => $f::<3, 2>($($arg),*),
            (4, 2) => $f::<4, 2>($($arg),*),
            (5, 2) => $f::<5, 2>($($arg),*),
            (6, 2) => $f::<6, 2>($($arg),*),
            (7, 2) => $f::<7, 2>($($arg),*),
            (8, 2) => $f::<8, 2>($($arg),*),
            (1, 3) => $f::<1, 3>($($arg),*),
            (2, 3) => $f::<2, 3>($($arg),*),
            (3, 3) => $f::<3, 3>($($arg),*),
            (4, 3) => $f::<4, 3>($($arg),*),
            (1, 4) => $f::<1, 4>($($arg),*),
            (2, 4) => $f::<2, 4>($($arg),*),
            (3, 4) => $f::<3, 4>($($arg),*),
            (4, 4) => $f::<4, 4>($($arg),*),
            _ => unreachable!("tile size outside the 16-accumulator table"),
        }
    };
}

#[cfg(target_arch = "x86_64")]
macro_rules! tiles4 {
    ($ns:expr, $bt:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match ($ns, $bt) {
            (1, 1) => $f::<1, 1>($($arg),*),
            (2, 1) => $f::<2, 1>($($arg),*),
            (3, 1) => $f::<3, 1>($($arg),*),
            (4, 1) => $f::<4, 1>($($arg),*),
            (1, 2) => $f::<1, 2>($($arg),*),
            (2, 2) => $f::<2, 2>($($arg),*),
            _ => unreachable!("tile size outside the 4-accumulator table"),
        }
    };
}

mod dispatch;
mod portable;
pub mod reference;

#[cfg(target_arch = "x86_64")]
mod x86_avx2;
#[cfg(target_arch = "x86_64")]
mod x86_avx512;

use crate::error::{AmqError, Result, check_finite, check_len};
use crate::pack::BitPlanesRef;
use crate::par::{Par, SharedMut, run};
use crate::popcount::Tiles;
use crate::tier::Tier;

use dispatch::Kernels;

/// Rows per block: the unit of work of one kernel pass and of the thread split.
pub const BLOCK_ROWS: usize = 16;

/// Batch items whose totals `S` are computed at once (kept on the stack); larger batches are
/// processed in chunks of this size, each a pass over the weights.
pub const BATCH_CHUNK: usize = 64;

/// Most batch items in one kernel tile, over every tier (sizes the per-block sums buffer).
const MAX_TILE_ITEMS: usize = 4;

/// Weight of one plane word against one batch item in the work measure handed to
/// [`Par::threads_for`] (whose unit is roughly one 64-bit word operation of the popcount
/// kernels): it is four 16-lane masked adds plus their loads, taken as about 16 such
/// operations. A rough equivalence, not a measurement.
const WORK_PER_WORD: usize = 16;

/// Most row-block tasks per thread: more than one lets the caller pick up the share of a
/// worker that another process keeps off its core.
const TASKS_PER_THREAD: usize = 4;

/// `out[b·m + r] = Σᵢ αᵢ[r]·(2·Pᵢ[r][b] − S[b])`, the product of the dequantized weights
/// (`m = w.rows()` rows) with `x` (`[batch][n]`), into `out` (`[batch][m]`), on the active
/// tier ([`Tier::active`], so `AMQ_KERNEL_TIER` is honoured). Exact up to f32 rounding (see
/// the module docs and [`error_bound`]).
///
/// Errors: [`AmqError::Empty`] for `batch == 0`, [`AmqError::InvalidArgument`] when
/// `batch · n` overflows, [`AmqError::LengthMismatch`] for wrong `x` or `out` lengths,
/// [`AmqError::NonFinite`] if `x` holds a NaN or an infinity (then `out` is left untouched).
/// α is not checked ([`BitPlanesRef`] leaves that to its maker): non-finite α give non-finite
/// outputs. Does not allocate.
pub fn masked_matmul(
    w: BitPlanesRef<'_>,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
    par: Par,
) -> Result<()> {
    run_with(dispatch::active(), w, x, batch, out, par)
}

/// [`masked_matmul`] on a chosen tier ([`AmqError::TierUnavailable`] if this CPU lacks it).
/// Every tier returns bit-identical results.
pub fn masked_matmul_with(
    tier: Tier,
    w: BitPlanesRef<'_>,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
    par: Par,
) -> Result<()> {
    run_with(dispatch::kernels(tier)?, w, x, batch, out, par)
}

/// The tier [`masked_matmul`] runs on: [`Tier::active`], resolved once per process.
pub fn active_tier() -> Tier {
    dispatch::active().tier
}

/// Per output (`[batch][m]`, like `out`), a rigorous bound on `|masked − exact|`, where
/// `exact` is the real-valued product of the dequantized weights and `x` (derivation in the
/// module docs). Same errors as [`masked_matmul`]; `+∞` where the bound exceeds the f32
/// range or `n ≥ 2²⁷`.
pub fn error_bound(w: BitPlanesRef<'_>, x: &[f32], batch: usize) -> Result<Vec<f32>> {
    check_x(w, x, batch)?;
    let (n, m, bits) = (w.n(), w.rows(), w.bits());
    let u = f64::powi(2.0, -24);
    let u64_ = f64::powi(2.0, -53);
    let d = (n.div_ceil(16) + 3) as f64;
    let gamma = if d * u < 0.5 {
        d * u / (1.0 - d * u)
    } else {
        f64::INFINITY
    };
    // A and L are summed in f64 (relative error below (n + bits)·2⁻⁵³): inflate to cover it.
    let safety = 1.0 + 4.0 * (n + bits) as f64 * u64_;
    let a_sums: Vec<f64> = w
        .alphas()
        .chunks_exact(bits)
        .map(|a| a.iter().map(|v| f64::from(v.abs())).sum::<f64>())
        .collect();
    let mut bound = Vec::with_capacity(batch * m);
    for xb in x.chunks_exact(n) {
        let l1: f64 = xb.iter().map(|v| f64::from(v.abs())).sum();
        for &a in &a_sums {
            let big = a * l1 * (1.0 + 3.0 * gamma);
            let total = (3.0 * gamma * a * l1
                + big * (u * (1.0 + 4.0 * u64_) + (bits as f64 + 1.0) * 1.01 * u64_))
                * safety
                + f64::powi(2.0, -149);
            bound.push(round_up_f32(total));
        }
    }
    Ok(bound)
}

/// The smallest f32 at least `v` (for `v ≥ 0`; `+∞` beyond the f32 range or for NaN).
fn round_up_f32(v: f64) -> f32 {
    let f = v as f32;
    if !f.is_finite() || v.is_nan() {
        f32::INFINITY
    } else if f64::from(f) < v {
        f32::from_bits(f.to_bits() + 1)
    } else {
        f
    }
}

/// Checks `batch` and the length and values of `x`.
fn check_x(w: BitPlanesRef<'_>, x: &[f32], batch: usize) -> Result<()> {
    if batch == 0 {
        return Err(AmqError::Empty { what: "batch" });
    }
    let expected = batch.checked_mul(w.n()).ok_or_else(|| {
        AmqError::InvalidArgument(format!("batch {batch} × n {} overflows", w.n()))
    })?;
    check_len("x", expected, x.len())?;
    check_finite("x", x)
}

/// One tier kernel call: the masked sums of a block's streams against a tile of items.
pub(crate) struct SumArgs<'a> {
    /// The block's planes, `[stream][word]` (`streams · words` words; stream = row · k + plane).
    planes: &'a [u64],
    /// `u64` words per plane.
    words: usize,
    /// Planes in the block (`rows · k`).
    streams: usize,
    /// The tile's activations, `[item][n]` (`items · n` values).
    x: &'a [f32],
    /// Row length.
    n: usize,
    /// Items in the tile (at most the tier's `max_items`).
    items: usize,
    /// Output: `Pᵢ` per stream and item, `[stream][item]` (`streams · items` values).
    sums: &'a mut [f32],
}

impl SumArgs<'_> {
    /// Panics unless every slice is as long as the shape fields say; the kernels rely on it
    /// for their unchecked loads.
    fn assert_consistent(&self) {
        assert!(
            self.words * 64 >= self.n
                && self.planes.len() >= self.streams * self.words
                && self.x.len() >= self.items * self.n
                && self.sums.len() >= self.streams * self.items,
            "inconsistent masked-sum arguments"
        );
    }
}

/// One chunk of batch items, shared by the tasks of one [`run`] call.
struct Chunk<'a> {
    w: BitPlanesRef<'a>,
    /// The chunk's activations, `[item][n]`.
    x: &'a [f32],
    /// Items in the chunk.
    items: usize,
    /// Index of the chunk's first batch item.
    c0: usize,
    /// `S` of each item of the chunk.
    totals: &'a [f32],
    /// The whole `[batch][m]` output.
    out: SharedMut<f32>,
}

fn run_with(
    k: &Kernels,
    w: BitPlanesRef<'_>,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
    par: Par,
) -> Result<()> {
    check_x(w, x, batch)?;
    let (m, n) = (w.rows(), w.n());
    check_len("out", batch.saturating_mul(m), out.len())?;
    let blocks = m.div_ceil(BLOCK_ROWS);
    let work = [w.bits(), w.words(), batch, WORK_PER_WORD]
        .iter()
        .fold(m, |acc, &f| acc.saturating_mul(f));
    let threads = par.threads_for(work, blocks);
    let n_tasks = if threads > 1 {
        blocks.min(threads * TASKS_PER_THREAD)
    } else {
        1
    };
    let out = SharedMut(out.as_mut_ptr());
    let mut c0 = 0;
    while c0 < batch {
        let items = (batch - c0).min(BATCH_CHUNK);
        let xs = &x[c0 * n..(c0 + items) * n];
        let mut totals = [0.0f32; BATCH_CHUNK];
        for (t, xb) in totals.iter_mut().zip(xs.chunks_exact(n)) {
            *t = portable::total(xb);
        }
        let chunk = Chunk {
            w,
            x: xs,
            items,
            c0,
            totals: &totals[..items],
            out,
        };
        let task = |t: usize| {
            let (b0, b1) = (t * blocks / n_tasks, (t + 1) * blocks / n_tasks);
            // SAFETY: task `t` writes only the rows of blocks `b0..b1` (for the chunk's items),
            // disjoint from every other task's; `out` has the checked length `batch · m` and
            // outlives `run`, which returns only after every task has finished; `k` came from
            // `dispatch`, which hands out only kernels this CPU runs.
            unsafe { run_blocks(k, &chunk, b0..b1) };
        };
        run(threads, n_tasks, &task);
        c0 += items;
    }
    Ok(())
}

/// Computes and writes the outputs of blocks `range` for the chunk's items.
///
/// # Safety
/// `c.out` must point to `batch · m` writable floats of which no other thread accesses the
/// rows of `range` meanwhile, the chunk must lie inside the batch, and `k` must be runnable
/// on this CPU.
unsafe fn run_blocks(k: &Kernels, c: &Chunk<'_>, range: std::ops::Range<usize>) {
    let (m, n, bits, words) = (c.w.rows(), c.w.n(), c.w.bits(), c.w.words());
    let mut sums = [0.0f32; BLOCK_ROWS * crate::MAX_BITS * MAX_TILE_ITEMS];
    let max_items = k.max_items.min(MAX_TILE_ITEMS);
    for blk in range {
        let r0 = blk * BLOCK_ROWS;
        let rows = (m - r0).min(BLOCK_ROWS);
        let streams = rows * bits;
        let planes = &c.w.planes()[r0 * bits * words..(r0 + rows) * bits * words];
        let alphas = &c.w.alphas()[r0 * bits..(r0 + rows) * bits];
        for (b0, items) in Tiles::new(c.items, max_items) {
            let mut args = SumArgs {
                planes,
                words,
                streams,
                x: &c.x[b0 * n..(b0 + items) * n],
                n,
                items,
                sums: &mut sums[..streams * items],
            };
            // SAFETY: the caller guarantees `k` runs on this CPU; `args` holds consistent
            // slices (`items <= max_items`, checked again inside by `assert_consistent`).
            unsafe { (k.block_sums)(&mut args) };
            let totals = &c.totals[b0..b0 + items];
            for (rl, (a, s)) in alphas
                .chunks_exact(bits)
                .zip(sums[..streams * items].chunks_exact(bits * items))
                .enumerate()
            {
                for (b, &t) in totals.iter().enumerate() {
                    let v = combine(a, s, items, b, t);
                    // SAFETY: item `c0 + b0 + b < batch` and row `r0 + rl < m`, so the index is
                    // inside the `batch · m` output; the row belongs to this caller's blocks.
                    unsafe { *c.out.0.add((c.c0 + b0 + b) * m + r0 + rl) = v };
                }
            }
        }
    }
}

/// `Σᵢ αᵢ · (2Pᵢ − S)` for one row and item `b`, in f64, rounded to f32 once. `sums` is the
/// row's `[plane][item]` block of `Pᵢ`. Every tier goes through this one function, so equal
/// sums give bit-identical outputs.
#[inline]
fn combine(alphas: &[f32], sums: &[f32], items: usize, b: usize, total: f32) -> f32 {
    let t = f64::from(total);
    let mut acc = 0.0f64;
    for (i, &a) in alphas.iter().enumerate() {
        acc += f64::from(a) * (2.0 * f64::from(sums[i * items + b]) - t);
    }
    acc as f32
}
