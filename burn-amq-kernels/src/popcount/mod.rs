//! Popcount products: k_w-bit weights × k_a-bit activations by xor + popcount.
//!
//! For weights `W` ([`InterleavedPlanes`], `m` rows, `k_w` planes, coefficients α) and
//! activations `X` ([`BitPlanesRef`], `batch` rows, `k_a` planes, coefficients β):
//!
//! `out[b·m + r] = Σᵢ Σⱼ α[r][i] · β[b][j] · (n − 2·popcount(W_i[r] XOR X_j[b]))`.
//!
//! # Kernel structure
//! The (batch item, activation plane) pairs are flattened into one list of `batch · k_a`
//! *activation planes*, which is exactly the row-major `[row][plane][word]` order of `X`, each
//! with its own β and output column. A tier's *microkernel* counts, for one 8-row block, a
//! tile of `KWT` weight planes × `NA` activation planes over all words, with `KWT · NA`
//! accumulators of 8 lanes (one lane per row) kept in registers; both sizes are const
//! generics. Each weight load is reused for `NA` activation planes (so across batch items
//! too), each activation word is broadcast once per `KWT` weight planes. After a block's
//! tile the counts are folded into the f32 outputs as `α·β·(n − 2·count)` (the integer
//! `n − 2·count` is exact, then rounded once), summed per batch item in registers.
//!
//! The driver computes the tile plan once per call and walks row blocks in groups of about
//! 16 KiB of weights: for each tile size it dispatches once per group and loops over the
//! group's blocks inside the monomorphised kernel, adding straight into the output rows
//! (zeroed first). The group's weights stay in L1 while all activation tiles pass over
//! them, and the per-block bookkeeping is a few instructions.
//!
//! Tile sizes are balanced splits (e.g. `k_w = 7` → tiles of 4 and 3) bounded by the tier's
//! register budget, so every `(k_w, k_a, batch)` combination takes the same fast path:
//! 2/2 at batch 1 is one 2×2 tile (4 accumulators), 3/3 one 3×3 tile, 4/4 one 4×4 tile, and
//! 2/2 at batch 20 is five 2×8 tiles (4 batch items per tile).
//!
//! # Tiers and threading
//! One file per ISA: [`reference`](mod@reference) (the oracle), `portable`, `x86_popcnt`, `x86_avx2`,
//! `x86_avx512`, `aarch64_neon`; `dispatch` maps a [`Tier`] to its kernel functions.
//! Row blocks are split into a few tasks (up to 4 per thread) on the [`crate::par`] pool when
//! the work is large enough ([`Par::threads_for`], with `8 · blocks · words · k_w · k_a ·
//! batch` 64-bit word operations); below that one thread does everything. Each task owns
//! whole blocks, so tasks write disjoint output rows, and the result does not depend on the
//! thread count (same per-element summation order).

// Tile tables: map a run-time tile size `(kwt, na)` to the const-generic microkernel
// instance. `tiles16!` covers `kwt <= 4`, `kwt · na <= 16`, `na <= 8` (tiers with 32 vector
// registers or scalar lanes); `tiles4!` covers `kwt <= 2`, `kwt · na <= 4` (16-register
// tiers). The drivers only ask for sizes in their table (see `Tiles` and `MAX_NA`).
macro_rules! tiles16 {
    ($kwt:expr, $na:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match ($kwt, $na) {
            (1, 1) => $f::<1, 1>($($arg),*),
            (1, 2) => $f::<1, 2>($($arg),*),
            (1, 3) => $f::<1, 3>($($arg),*),
            (1, 4) => $f::<1, 4>($($arg),*),
            (1, 5) => $f::<1, 5>($($arg),*),
            (1, 6) => $f::<1, 6>($($arg),*),
            (1, 7) => $f::<1, 7>($($arg),*),
            (1, 8) => $f::<1, 8>($($arg),*),
            (2, 1) => $f::<2, 1>($($arg),*),
            (2, 2) => $f::<2, 2>($($arg),*),
            (2, 3) => $f::<2, 3>($($arg),*),
            (2, 4) => $f::<2, 4>($($arg),*),
            (2, 5) => $f::<2, 5>($($arg),*),
            (2, 6) => $f::<2, 6>($($arg),*),
            (2, 7) => $f::<2, 7>($($arg),*),
            (2, 8) => $f::<2, 8>($($arg),*),
            (3, 1) => $f::<3, 1>($($arg),*),
            (3, 2) => $f::<3, 2>($($arg),*),
            (3, 3) => $f::<3, 3>($($arg),*),
            (3, 4) => $f::<3, 4>($($arg),*),
            (3, 5) => $f::<3, 5>($($arg),*),
            (4, 1) => $f::<4, 1>($($arg),*),
            (4, 2) => $f::<4, 2>($($arg),*),
            (4, 3) => $f::<4, 3>($($arg),*),
            (4, 4) => $f::<4, 4>($($arg),*),
            _ => unreachable!("tile size outside the 16-accumulator table"),
        }
    };
}

#[allow(unused_macros)]
macro_rules! tiles4 {
    ($kwt:expr, $na:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match ($kwt, $na) {
            (1, 1) => $f::<1, 1>($($arg),*),
            (1, 2) => $f::<1, 2>($($arg),*),
            (1, 3) => $f::<1, 3>($($arg),*),
            (1, 4) => $f::<1, 4>($($arg),*),
            (2, 1) => $f::<2, 1>($($arg),*),
            (2, 2) => $f::<2, 2>($($arg),*),
            _ => unreachable!("tile size outside the 4-accumulator table"),
        }
    };
}

mod dispatch;
mod portable;
pub mod reference;

#[cfg(target_arch = "aarch64")]
mod aarch64_neon;
#[cfg(target_arch = "x86_64")]
mod x86_avx2;
#[cfg(target_arch = "x86_64")]
mod x86_avx512;
#[cfg(target_arch = "x86_64")]
mod x86_popcnt;

use crate::error::{AmqError, Result, check_len};
use crate::pack::interleaved::{InterleavedPlanes, Lanes, ROW_BLOCK};
use crate::pack::{BitPlanesRef, words_for};
use crate::par::{Par, SharedMut, run};

use crate::tier::Tier;

use dispatch::Kernels;

/// Largest row length the kernels accept: dots are exact `i32`s.
pub const MAX_N: usize = 1 << 30;

/// Batch items one block pass handles; larger batches are processed in chunks of this size,
/// which keeps the per-item f32 accumulators on the stack (no allocation on the hot path).
pub const BATCH_CHUNK: usize = 64;

/// Most activation planes in one microkernel tile.
const MAX_NA: usize = 8;

/// 64-bit word operations per unit of `blocks · words · k_w · k_a · batch`, the work
/// measure handed to [`Par::threads_for`] (each unit is one xor + popcount of 8 lanes).
const WORD_OPS_PER_UNIT: usize = ROW_BLOCK;

/// Most row-block tasks per thread: more than one lets the caller pick up the share of a
/// worker that another process keeps off its core.
const TASKS_PER_THREAD: usize = 4;

/// `y = W·x` for every activation row: `out[b·m + r]` (layout `[batch][m]`,
/// `out.len() == x.rows() · w.rows()`), on the [active](Tier::active) tier.
///
/// Errors: [`AmqError::ShapeMismatch`] when `w.n() != x.n()` (or `n > MAX_N`),
/// [`AmqError::LengthMismatch`] for a wrong `out` length. Does not allocate.
pub fn popcount_matmul(
    w: &InterleavedPlanes,
    x: BitPlanesRef<'_>,
    out: &mut [f32],
    par: Par,
) -> Result<()> {
    matmul_impl(dispatch::active(), w, x, out, par)
}

/// [`popcount_matmul`] on a chosen tier; [`AmqError::TierUnavailable`] if this CPU cannot
/// run it.
pub fn popcount_matmul_with(
    tier: Tier,
    w: &InterleavedPlanes,
    x: BitPlanesRef<'_>,
    out: &mut [f32],
    par: Par,
) -> Result<()> {
    matmul_impl(dispatch::kernels(tier)?, w, x, out, par)
}

/// Exact integer dots `n − 2·popcount(W_i[r] XOR X_j[b])`, layout `[batch][row][i][j]`,
/// computed by `tier`'s microkernel (the one [`popcount_matmul_with`] uses), so tests can
/// check each tier's counting exactly, independently of float rounding.
pub fn popcount_dots_with(
    tier: Tier,
    w: &InterleavedPlanes,
    x: BitPlanesRef<'_>,
) -> Result<Vec<i32>> {
    let k = dispatch::kernels(tier)?;
    check_shapes(w.n(), x.n())?;
    let (m, kw, ka, words) = (w.rows(), w.bits(), x.bits(), w.words());
    let planes = x.rows() * ka;
    let n = w.n() as i32;
    let mut dots = vec![0i32; x.rows() * m * kw * ka];
    for blk in 0..w.blocks() {
        let wb = w.block_planes(blk);
        let valid = (m - blk * ROW_BLOCK).min(ROW_BLOCK);
        for (p0, kwt) in Tiles::new(kw, k.max_kwt) {
            let na_max = (k.max_acc / kwt).clamp(1, MAX_NA);
            for (a0, na) in Tiles::new(planes, na_max) {
                let t = TileArgs {
                    w: wb,
                    bits: kw,
                    words,
                    p0,
                    kwt,
                    x: &x.planes()[a0 * words..(a0 + na) * words],
                    na,
                };
                // SAFETY: `k` came from `dispatch::kernels`, which checked that this CPU runs
                // the tier; the tile is within the tier's limits (`kwt <= max_kwt`,
                // `kwt · na <= max_acc`) and `TileArgs` holds in-bounds slices.
                let cnt = unsafe { (k.tile_counts)(&t) };
                for ii in 0..kwt {
                    for aa in 0..na {
                        let (b, j) = ((a0 + aa) / ka, (a0 + aa) % ka);
                        for (lane, &c) in cnt[ii * na + aa][..valid].iter().enumerate() {
                            let r = blk * ROW_BLOCK + lane;
                            dots[((b * m + r) * kw + p0 + ii) * ka + j] = (n - c as i32) - c as i32;
                        }
                    }
                }
            }
        }
    }
    Ok(dots)
}

/// The tier [`popcount_matmul`] runs on: [`Tier::active`], resolved once per process.
pub fn active_tier() -> Tier {
    dispatch::active().tier
}

/// Checks that the two operands have the same (supported) row length.
pub(crate) fn check_shapes(n_w: usize, n_x: usize) -> Result<()> {
    if n_w != n_x {
        return Err(AmqError::ShapeMismatch(format!(
            "weights have rows of {n_w} elements, activations {n_x}"
        )));
    }
    if n_w > MAX_N {
        return Err(AmqError::ShapeMismatch(format!(
            "row length {n_w} exceeds the supported maximum {MAX_N}"
        )));
    }
    Ok(())
}

/// `n − 2·popcount(a XOR b)` over whole planes (the reference definition).
pub(crate) fn dot_of(n: usize, a: &[u64], b: &[u64]) -> i32 {
    let ones: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from((x ^ y).count_ones()))
        .sum();
    (n as i64 - 2 * ones as i64) as i32
}

/// One microkernel tile for [`popcount_dots_with`]: weight planes `p0..p0 + kwt` of one block
/// against `na` activation planes.
pub(crate) struct TileArgs<'a> {
    w: &'a [Lanes],
    bits: usize,
    words: usize,
    p0: usize,
    kwt: usize,
    /// `na · words` words.
    x: &'a [u64],
    na: usize,
}

/// Counts of one tile, `[weight plane · na + activation plane][lane]` (only the first
/// `kwt · na` entries are meaningful).
pub(crate) type TileCounts = [[u64; ROW_BLOCK]; 16];

/// Balanced split of `0..total` into `ceil(total / max)` consecutive `(start, len)` tiles.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tiles {
    start: usize,
    left: usize,
    base: usize,
    extra: usize,
}

impl Tiles {
    pub(crate) fn new(total: usize, max: usize) -> Self {
        let count = total.div_ceil(max.max(1)).max(1);
        Self {
            start: 0,
            left: count.min(total),
            base: total / count,
            extra: total % count,
        }
    }
}

impl Iterator for Tiles {
    type Item = (usize, usize);
    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.left == 0 {
            return None;
        }
        let len = self.base + usize::from(self.extra > 0);
        self.extra = self.extra.saturating_sub(1);
        self.left -= 1;
        let start = self.start;
        self.start += len;
        Some((start, len))
    }
}

/// Folds one tile's counts for block `blk` into the output: `α·β·(n − 2·count)` summed in
/// a register-sized run per batch item, then added to its output rows once. Shared by the
/// tiers whose counts come out as `u64` lanes; written so it vectorises (`i32` arithmetic,
/// `i32 → f32` conversion).
///
/// # Safety
/// As for [`add_to_out`]; `t` must be a tile of `a.plan` and `p0 + KWT <= bits`.
#[inline(always)]
pub(crate) unsafe fn combine_tile<const KWT: usize, const NA: usize>(
    a: &MatArgs<'_>,
    blk: usize,
    p0: usize,
    t: &ActTile,
    cnt: &[[[u64; ROW_BLOCK]; NA]; KWT],
) {
    let alphas = &a.w.block_alphas(blk)[p0 * ROW_BLOCK..(p0 + KWT) * ROW_BLOCK];
    let betas = &a.betas[t.a0..t.a0 + NA];
    let n = a.w.n() as i32;
    // Batch item and plane of activation plane `a0 + aa`, advanced without divisions.
    let (mut b, mut j) = (t.b0, t.j0);
    let mut run = [0.0f32; ROW_BLOCK];
    for (aa, &beta) in betas.iter().enumerate() {
        for (ii, alpha) in alphas.chunks_exact(ROW_BLOCK).enumerate() {
            for l in 0..ROW_BLOCK {
                let c = cnt[ii][aa][l] as i32;
                run[l] += alpha[l] * beta * ((n - c) - c) as f32;
            }
        }
        j += 1;
        let item_done = j == a.k_a;
        if item_done || aa == NA - 1 {
            // SAFETY: `b < items` (a tile never runs past the chunk's planes); the rest is
            // the caller's contract.
            unsafe { add_to_out(a, b, blk, &run) };
            run = [0.0; ROW_BLOCK];
        }
        if item_done {
            (b, j) = (b + 1, 0);
        }
    }
}

fn matmul_impl(
    k: &Kernels,
    w: &InterleavedPlanes,
    x: BitPlanesRef<'_>,
    out: &mut [f32],
    par: Par,
) -> Result<()> {
    check_shapes(w.n(), x.n())?;
    check_len("out", x.rows() * w.rows(), out.len())?;
    let blocks = w.blocks();
    let work = [w.words(), w.bits(), x.bits(), x.rows(), WORD_OPS_PER_UNIT]
        .iter()
        .fold(blocks, |acc, &f| acc.saturating_mul(f));
    let threads = par.threads_for(work, blocks);
    let n_tasks = if threads > 1 {
        blocks.min(threads * TASKS_PER_THREAD)
    } else {
        1
    };
    let out_ptr = SharedMut(out.as_mut_ptr());
    let task = |t: usize| {
        let (b0, b1) = (t * blocks / n_tasks, (t + 1) * blocks / n_tasks);
        // SAFETY: task `t` writes only rows of blocks `b0..b1`, disjoint from every other
        // task's, and `out` (of the checked length `batch · m`) outlives `run`.
        unsafe { run_blocks(k, w, x, b0..b1, shared_ptr(&out_ptr)) };
    };
    run(threads, n_tasks, &task);
    Ok(())
}

/// Reads the pointer through a reference, so the task closure captures the `Sync` wrapper
/// rather than its raw-pointer field.
fn shared_ptr(p: &SharedMut<f32>) -> *mut f32 {
    p.0
}

/// Computes the output rows of blocks `range` for every batch item.
///
/// # Safety
/// `out` must point to `x.rows() · w.rows()` writable floats, no other thread may access the
/// rows of `range` meanwhile, and `k` must be runnable on this CPU; shapes must have been
/// checked (`w.n() == x.n() <= MAX_N`).
unsafe fn run_blocks(
    k: &Kernels,
    w: &InterleavedPlanes,
    x: BitPlanesRef<'_>,
    range: std::ops::Range<usize>,
    out: *mut f32,
) {
    let (ka, words) = (x.bits(), w.words());
    debug_assert_eq!(words, words_for(x.n()));
    let batch = x.rows();
    let mut c0 = 0;
    while c0 < batch {
        let items = (batch - c0).min(BATCH_CHUNK);
        let plan = Plan::new(w.bits(), items * ka, k.max_kwt, k.max_acc);
        let args = MatArgs {
            w,
            x: &x.planes()[c0 * ka * words..(c0 + items) * ka * words],
            betas: &x.alphas()[c0 * ka..(c0 + items) * ka],
            k_a: ka,
            items,
            c0,
            plan: &plan,
            out,
        };
        // SAFETY: the caller guarantees the tier runs here and that `out` is valid and ours
        // for the rows of `range`; `args` holds consistent, in-bounds slices.
        unsafe { (k.matmul_blocks)(&args, range.clone()) };
        c0 += items;
    }
}

/// One call's product over a chunk of at most [`BATCH_CHUNK`] batch items.
pub(crate) struct MatArgs<'a> {
    w: &'a InterleavedPlanes,
    /// The chunk's activation planes, `[plane][word]`.
    x: &'a [u64],
    /// The chunk's β, one per activation plane.
    betas: &'a [f32],
    k_a: usize,
    /// Batch items in the chunk (`betas.len() / k_a`).
    items: usize,
    /// Index of the chunk's first batch item.
    c0: usize,
    plan: &'a Plan,
    /// The whole `[batch][m]` output.
    out: *mut f32,
}

/// The tile plan of one call, computed once so the block loop does no divisions: the
/// weight-plane tiles and, for each, the split of the activation planes.
pub(crate) struct Plan {
    tiles: [KwTile; crate::MAX_BITS],
    len: usize,
}

/// Weight planes `p0..p0 + kwt` against the activation tiles of `acts`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KwTile {
    p0: usize,
    kwt: usize,
    acts: Tiles,
}

impl Plan {
    fn new(bits: usize, planes: usize, max_kwt: usize, max_acc: usize) -> Self {
        let mut tiles = [KwTile {
            p0: 0,
            kwt: 0,
            acts: Tiles::new(0, 1),
        }; crate::MAX_BITS];
        let mut len = 0;
        for (slot, (p0, kwt)) in tiles.iter_mut().zip(Tiles::new(bits, max_kwt)) {
            let na_max = (max_acc / kwt).clamp(1, MAX_NA);
            *slot = KwTile {
                p0,
                kwt,
                acts: Tiles::new(planes, na_max),
            };
            len += 1;
        }
        Self { tiles, len }
    }

    #[inline(always)]
    fn kw_tiles(&self) -> &[KwTile] {
        &self.tiles[..self.len]
    }
}

/// One activation tile: planes `a0..a0 + na`, the first of which is plane `j0` of batch
/// item `b0` (of the chunk).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActTile {
    a0: usize,
    na: usize,
    b0: usize,
    j0: usize,
}

impl KwTile {
    /// The activation tiles, with their batch item and plane tracked without divisions.
    #[inline(always)]
    fn acts(&self, k_a: usize) -> impl Iterator<Item = ActTile> {
        let (mut b, mut j) = (0, 0);
        self.acts.map(move |(a0, na)| {
            let t = ActTile {
                a0,
                na,
                b0: b,
                j0: j,
            };
            j += na;
            while j >= k_a {
                j -= k_a;
                b += 1;
            }
            t
        })
    }
}

/// Bytes of weight blocks one group spans: small enough that a group's weights stay in L1
/// while every tile of the plan passes over them.
const GROUP_BYTES: usize = 16 << 10;

/// The block loop shared by every tier: zeroes the output rows of `blocks` (for the chunk's
/// batch items), then runs `group` on consecutive groups of blocks. The tier's `group`
/// passes every tile of the plan over the group's blocks, adding into the output with
/// [`add_to_out`]; dispatching a tile size once per group rather than once per block keeps
/// the bookkeeping out of the per-block path.
///
/// # Safety
/// `a.out` must be valid for `batch · m` floats and the rows of `blocks` must be written by
/// this caller alone.
#[inline(always)]
pub(crate) unsafe fn for_each_group(
    a: &MatArgs<'_>,
    blocks: std::ops::Range<usize>,
    mut group: impl FnMut(std::ops::Range<usize>),
) {
    let m = a.w.rows();
    let (r0, r1) = (blocks.start * ROW_BLOCK, (blocks.end * ROW_BLOCK).min(m));
    if r0 >= r1 {
        return;
    }
    for b in 0..a.items {
        // SAFETY: rows `r0..r1 <= m` of item `c0 + b < batch`: in bounds, and ours.
        unsafe { std::ptr::write_bytes(a.out.add((a.c0 + b) * m + r0), 0, r1 - r0) };
    }
    let block_bytes = a.w.words() * a.w.bits() * std::mem::size_of::<Lanes>();
    let per_group = (GROUP_BYTES / block_bytes).max(1);
    let mut g0 = blocks.start;
    while g0 < blocks.end {
        let g1 = (g0 + per_group).min(blocks.end);
        group(g0..g1);
        g0 = g1;
    }
}

/// Adds 8 row lanes to the output of chunk item `b` for block `blk` (real rows only).
///
/// # Safety
/// As for [`for_each_group`], with `b < a.items` and `blk` in the caller's block range.
#[inline(always)]
pub(crate) unsafe fn add_to_out(a: &MatArgs<'_>, b: usize, blk: usize, lanes: &[f32; ROW_BLOCK]) {
    let m = a.w.rows();
    let valid = (m - blk * ROW_BLOCK).min(ROW_BLOCK);
    // SAFETY: `(c0 + b) · m + blk · 8 + valid <= (c0 + b + 1) · m <= batch · m`: in bounds,
    // and a row range of `blk`, which only this caller writes.
    unsafe {
        let dst = a.out.add((a.c0 + b) * m + blk * ROW_BLOCK);
        if valid == ROW_BLOCK {
            // Constant trip count: one vector load-add-store.
            for (l, &v) in lanes.iter().enumerate() {
                *dst.add(l) += v;
            }
        } else {
            for (l, &v) in lanes[..valid].iter().enumerate() {
                *dst.add(l) += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_balanced_and_cover() {
        for total in 1..40 {
            for max in 1..10 {
                let t: Vec<_> = Tiles::new(total, max).collect();
                assert_eq!(t.len(), total.div_ceil(max));
                assert!(t.iter().all(|&(_, l)| l >= 1 && l <= max));
                let mut next = 0;
                for &(s, l) in &t {
                    assert_eq!(s, next);
                    next += l;
                }
                assert_eq!(next, total);
                let (lo, hi) = t
                    .iter()
                    .fold((usize::MAX, 0), |(a, b), &(_, l)| (a.min(l), b.max(l)));
                assert!(hi - lo <= 1);
            }
        }
    }

    #[test]
    fn dot_of_follows_convention() {
        // n = 3: a = [+,-,+], b = [+,+,+] → dot = 1 - 1 + 1 = 1.
        assert_eq!(dot_of(3, &[0b101], &[0b111]), 1);
        assert_eq!(dot_of(3, &[0], &[0]), 3);
        assert_eq!(dot_of(65, &[u64::MAX, 1], &[0, 0]), -65);
    }
}
