//! Per-activation lookup tables: 16 quantized partial sums for every group of 4 columns.
//!
//! Entry `idx` of group `g` is `u = q + BIAS` with `q = rne(y)`, `y` the partial sum
//! `((±z₀ ± z₁) ± z₂) ± z₃` computed in f32, `zₜ = f32(xₜ · ι)`, `ι = QMAX / maxₘ Σₜ|xₘₜ|`
//! (f64) and the sign of `zₜ` the bit `t` of `idx` (1 = +). `|q| ≤ QMAX = 127` and
//! `u ∈ 1..=255`: unsigned bytes, which the SIMD kernels widen into u16 sums. The error
//! analysis and the choice of precision are in the [module docs](super).
//!
//! The portable builder here is the reference; the AVX2 and AVX-512 builders (in their ISA
//! files) perform the same IEEE operations in the same order (Rust never contracts a·b + c
//! into an FMA), so the tables, and therefore the integer sums of all tiers, are
//! bit-identical (the tier tests compare the tables byte for byte).

use crate::error::{AmqError, Result, check_finite};

/// Largest table magnitude (the whole signed-byte range).
pub const QMAX: i32 = 127;
/// Offset that makes table entries unsigned (`u = q + BIAS ∈ 1..=255`).
pub const BIAS: i32 = 128;

/// `1.5 · 2²³`: adding and subtracting it rounds an f32 of magnitude < 2²² to the nearest
/// integer, ties to even, with two plain additions (baseline x86-64 has no `roundps`).
pub(crate) const MAGIC: f32 = 12_582_912.0;

/// Reusable buffers for [`lut_matmul`](super::lut_matmul): the tables and their scales.
///
/// [`LutScratch::new`] allocates nothing; the first call sizes the buffers and later calls with
/// the same or smaller `batch · n` reuse them without allocating.
#[derive(Debug, Default, Clone)]
pub struct LutScratch {
    /// `[batch][padded_groups][16]` biased entries.
    pub(crate) tables: Vec<u8>,
    /// `[batch]` the f64 step `s = max Σ|x| / QMAX` of each vector's table.
    pub(crate) scales: Vec<f64>,
}

impl LutScratch {
    /// Empty scratch; grows on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes currently reserved (tables and scales).
    pub fn capacity_bytes(&self) -> usize {
        self.tables.capacity() + self.scales.capacity() * 8
    }

    /// The biased table entries of the last call, `[batch][groups][16]`, with
    /// `groups = 2·ceil(n/8)`; `entry − 128` is the quantized partial sum (for inspection and
    /// tests).
    pub fn tables(&self) -> &[u8] {
        &self.tables
    }

    /// The table step `s` of each activation vector of the last call: a table entry `q` stands
    /// for the partial sum `s·q`.
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }
}

/// Scale statistics of one activation vector: `(max over groups of Σ|x|, Σ|x|)`, both in f64
/// (f64 cannot overflow on sums of f32 magnitudes, and a non-finite input makes the total
/// non-finite). Each group sum is `(|x₀| + |x₁|) + (|x₂| + |x₃|)` (zeros past `n`), the
/// association the SIMD builders use too, so every tier finds the same `max`.
pub(crate) fn vector_stats(x: &[f32]) -> (f64, f64) {
    let mut max = 0.0f64;
    let mut total = 0.0f64;
    let mut chunks = x.chunks_exact(4);
    let group = |c: [f32; 4]| {
        (c[0].abs() as f64 + c[1].abs() as f64) + (c[2].abs() as f64 + c[3].abs() as f64)
    };
    for c in &mut chunks {
        let s = group([c[0], c[1], c[2], c[3]]);
        max = max.max(s);
        total += s;
    }
    let mut c = [0.0f32; 4];
    c[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    let s = group(c);
    max = max.max(s);
    total += s;
    (max, total)
}

/// `(ι, s)` for a vector whose largest group magnitude is `max`: `ι = QMAX/max`, `s = max/QMAX`
/// (both 0 for an all-zero vector, whose tables are then all zero).
pub(crate) fn scale_for(max: f64) -> (f64, f64) {
    if max > 0.0 {
        (QMAX as f64 / max, max / QMAX as f64)
    } else {
        (0.0, 0.0)
    }
}

/// Signs of column `t` for each of the 16 indices (bit `t` set = +1).
const fn sign_row(t: usize) -> [f32; 16] {
    let mut s = [0.0f32; 16];
    let mut i = 0;
    while i < 16 {
        s[i] = if (i >> t) & 1 == 1 { 1.0 } else { -1.0 };
        i += 1;
    }
    s
}
const SIGNS: [[f32; 16]; 4] = [sign_row(0), sign_row(1), sign_row(2), sign_row(3)];

/// The 16 biased entries of one group. Multiplying by ±1 is exact, so this is the signed sum,
/// and the table is antisymmetric (`q[15 − idx] = −q[idx]`) because every operation is.
#[inline(always)]
fn group_entries(z: [f32; 4], out: &mut [u8]) {
    let out: &mut [u8; 16] = (&mut out[..16]).try_into().expect("16 entries");
    for idx in 0..16 {
        let y = ((z[0] * SIGNS[0][idx] + z[1] * SIGNS[1][idx]) + z[2] * SIGNS[2][idx])
            + z[3] * SIGNS[3][idx];
        let r = (y + MAGIC) - MAGIC;
        let q = r.clamp(-(QMAX as f32), QMAX as f32) as i32;
        out[idx] = (q + BIAS) as u8;
    }
}

/// Builds the tables of one vector `x` (`n` values) into `out` (`groups · 16` bytes,
/// `groups ≥ ceil(n/4)`; groups past `n` get the zero entry).
#[inline(always)]
fn build_body(x: &[f32], inv: f64, out: &mut [u8]) {
    let z = |v: f32| (v as f64 * inv) as f32;
    let mut groups = out.chunks_exact_mut(16);
    let mut chunks = x.chunks_exact(4);
    for (c, o) in (&mut chunks).zip(&mut groups) {
        group_entries([z(c[0]), z(c[1]), z(c[2]), z(c[3])], o);
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        let mut zz = [0.0f32; 4];
        for (d, &v) in zz.iter_mut().zip(rem) {
            *d = z(v);
        }
        if let Some(o) = groups.next() {
            group_entries(zz, o);
        }
    }
    for o in groups {
        o.fill(BIAS as u8);
    }
}

/// A table builder for one vector: fills `out` and returns `(s, finite)`, the step of the
/// table and whether `x` was finite (when it is not, `out` is unspecified).
pub(crate) type BuildFn = unsafe fn(&[f32], &mut [u8]) -> (f64, bool);

/// Portable builder.
///
/// # Safety
/// None required (`unsafe` only to share the [`BuildFn`] type).
pub(crate) unsafe fn build_portable(x: &[f32], out: &mut [u8]) -> (f64, bool) {
    build_generic(x, out)
}

#[inline(always)]
fn build_generic(x: &[f32], out: &mut [u8]) -> (f64, bool) {
    let (max, total) = vector_stats(x);
    if !total.is_finite() {
        return (0.0, false);
    }
    let (inv, s) = scale_for(max);
    build_body(x, inv, out);
    (s, true)
}

/// Fills `scratch` with the tables of every vector of `x` (`batch · n`, validated by the caller)
/// and checks that `x` is finite.
pub(crate) fn build_all(
    build: BuildFn,
    x: &[f32],
    batch: usize,
    n: usize,
    padded_groups: usize,
    scratch: &mut LutScratch,
) -> Result<()> {
    let per = padded_groups * 16;
    // `resize` keeps the allocation when it is large enough: no allocation after warm-up.
    scratch.tables.resize(batch * per, 0);
    scratch.scales.resize(batch, 0.0);
    for b in 0..batch {
        let xb = &x[b * n..(b + 1) * n];
        // SAFETY: `build` comes from the dispatch table of an available tier, which only hands
        // out builders whose target features were detected at run time.
        let (s, finite) = unsafe { build(xb, &mut scratch.tables[b * per..(b + 1) * per]) };
        if !finite {
            // The f64 total of finite f32 magnitudes cannot overflow, so some value is not finite.
            check_finite("x", x)?;
            return Err(AmqError::InvalidArgument("x: non-finite sum".into()));
        }
        scratch.scales[b] = s;
    }
    Ok(())
}
