//! Portable reference kernels for the two passes every quantizer is made of.
//!
//! Sums run in [`LANES`] lanes (entry `j` goes to lane `j % LANES`): f32 partial sums over
//! blocks of [`BLOCK`] entries, added into f64 lane totals after each block, and reduced by
//! the fixed tree [`reduce`]. That is exactly what the SIMD kernels do, so every tier gives
//! bit-identical α and codes. The f32 blocks keep the hot loop free of conversions (each
//! lane adds only 8 values in f32); the f64 totals keep long rows accurate. 32 lanes (two
//! AVX-512 registers) give the SIMD code enough independent additions to hide latency.

use super::bst::CodeTable;

/// Number of partial sums.
pub(crate) const LANES: usize = 32;

/// Entries per f32 block (8 per lane) before the partial sums are added into f64.
pub(crate) const BLOCK: usize = 8 * LANES;

/// Blocked lane sums (see the module docs).
struct Sum {
    part: [f32; LANES],
    total: [f64; LANES],
}

impl Sum {
    fn new() -> Self {
        Self {
            part: [0.0; LANES],
            total: [0.0; LANES],
        }
    }
    #[inline]
    fn add(&mut self, lane: usize, v: f32) {
        self.part[lane] += v;
    }
    /// Ends a block.
    #[inline]
    fn flush(&mut self) {
        for (t, p) in self.total.iter_mut().zip(&mut self.part) {
            *t += f64::from(*p);
            *p = 0.0;
        }
    }
    fn finish(mut self) -> f64 {
        self.flush();
        reduce(&self.total)
    }
}

/// Pairwise reduction of the lane accumulators, in a fixed order.
#[inline]
pub(crate) fn reduce(acc: &[f64; LANES]) -> f64 {
    let mut a = *acc;
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            a[i] += a[i + width];
        }
        width /= 2;
    }
    a[0]
}

/// One greedy step on the fly: with `r = w − Σᵢ priorᵢ·bᵢ` (planes `0..prior.len()` of
/// `planes`, subtracted in order), writes `out = sign(r)` (`r ≥ 0` → bit 1, so sign(0) = +1;
/// padding 0) and returns `(Σ|r|, out·w)`.
///
/// Recomputing `r` from `w` rounds exactly like updating a residual buffer step by step, and
/// needs no buffer; the dot product is what least squares needs for the new plane.
pub(crate) fn greedy_pass(
    w: &[f32],
    planes: &[u64],
    words: usize,
    prior: &[f32],
    out: &mut [u64],
) -> (f64, f64) {
    let mut abs = Sum::new();
    let mut dot = Sum::new();
    out.fill(0);
    // Rounds of 32 entries (one per lane) over fixed-size arrays, so the compiler can
    // vectorise the lane loops; a short last round goes through the same code with only its
    // valid lanes added.
    for (ri, round) in w.chunks(LANES).enumerate() {
        let (wi, shift) = (ri / 2, (ri % 2) * LANES);
        let len = round.len();
        let mut x = [0.0f32; LANES];
        x[..len].copy_from_slice(round);
        let mut v = x;
        for (i, &a) in prior.iter().enumerate() {
            let pw = (planes[i * words + wi] >> shift) as u32;
            for (l, r) in v.iter_mut().enumerate() {
                *r -= if (pw >> l) & 1 == 1 { a } else { -a };
            }
        }
        let mut bits = 0u32;
        if len == LANES {
            for l in 0..LANES {
                let pos = v[l] >= 0.0;
                abs.part[l] += v[l].abs();
                dot.part[l] += if pos { x[l] } else { -x[l] };
                bits |= u32::from(pos) << l;
            }
        } else {
            for l in 0..len {
                let pos = v[l] >= 0.0;
                abs.part[l] += v[l].abs();
                dot.part[l] += if pos { x[l] } else { -x[l] };
                bits |= u32::from(pos) << l;
            }
        }
        out[wi] |= u64::from(bits) << shift;
        if (ri + 1).is_multiple_of(BLOCK / LANES) {
            abs.flush();
            dot.flush();
        }
    }
    (abs.finish(), dot.finish())
}

/// Writes the nearest-code planes of `w` for `table` (the first `table.bits` planes of
/// `planes`, `[plane][word]`, padding 0) and their dot products with `w` into `dots`.
pub(crate) fn bst_assign(
    w: &[f32],
    table: &CodeTable,
    planes: &mut [u64],
    words: usize,
    dots: &mut [f64],
) {
    let k = table.bits;
    let mut acc: [Sum; crate::MAX_BITS] = std::array::from_fn(|_| Sum::new());
    for (wi, chunk) in w.chunks(64).enumerate() {
        let mut out = [0u64; crate::MAX_BITS];
        for (b, &x) in chunk.iter().enumerate() {
            let p = table.patterns[table.descend(x)];
            for (i, (a, o)) in acc[..k].iter_mut().zip(&mut out).enumerate() {
                let pos = (p >> i) & 1 == 1;
                a.add(b % LANES, if pos { x } else { -x });
                *o |= u64::from(pos) << b;
            }
        }
        for (i, &o) in out[..k].iter().enumerate() {
            planes[i * words + wi] = o;
        }
        if (wi + 1).is_multiple_of(BLOCK / 64) {
            acc[..k].iter_mut().for_each(Sum::flush);
        }
    }
    for (d, a) in dots.iter_mut().zip(acc) {
        *d = a.finish();
    }
}
