//! `amq-bench kernels`: packed products and Burn's f32 matmul on Flex, side by side.
//!
//! For each shape the f32 side is `Tensor<2>` `[batch, n] × [n, m]` on `Device::flex()`
//! (Burn's `Linear` layout), run inside a rayon pool of the row's thread count; the packed
//! side is the popcount kernel (k_w-bit weights × k_a-bit activations, activations already
//! quantized) or the lookup-table kernel (k_w-bit weights × f32 activations), with
//! `Par::Threads(threads)`. Both are sampled interleaved in the same process.
//! Quantizing the activation vector is timed separately in the `quantize` rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::prelude::*;
use burn_amq_kernels::lut::{LutScratch, LutWeights, lut_matmul};
use burn_amq_kernels::pack::interleaved::InterleavedPlanes;
use burn_amq_kernels::popcount::popcount_matmul;
use burn_amq_kernels::quant::{ActivationQuantizer, Method, quantize_rows};
use burn_amq_kernels::{BitPlanes, Par, Tier};
use serde_json::json;

use super::{par_for, rayon_pool};
use crate::data::gaussian;
use crate::report::{JsonRows, Table, fmt_us, round3};
use crate::timing::{TimingPlan, median_us_interleaved};

/// Options of the kernels suite.
#[derive(Debug, Clone)]
pub struct KernelsOptions {
    /// Timing plan.
    pub plan: TimingPlan,
    /// Shapes `(m, n)` (m = output rows).
    pub shapes: Vec<(usize, usize)>,
    /// Batch sizes.
    pub batches: Vec<usize>,
    /// Thread counts.
    pub threads: Vec<usize>,
    /// `(w_bits, a_bits)`; `a_bits == 0` means f32 activations (lookup-table kernel).
    pub bits: Vec<(usize, usize)>,
    /// Also time the 2/2 4096×1024 batch-1 product with 1 thread (the reference), then with 2
    /// threads while a spinning thread keeps a core busy.
    pub busy_check: bool,
}

impl KernelsOptions {
    /// The rows the issue asks for.
    pub fn full() -> Self {
        KernelsOptions {
            plan: TimingPlan::FULL,
            shapes: vec![(4096, 1024), (1200, 600), (4096, 2048)],
            batches: vec![1, 20],
            threads: vec![1, 2],
            bits: vec![(1, 1), (2, 2), (2, 3), (3, 3), (4, 4), (2, 0)],
            busy_check: true,
        }
    }

    /// A smoke run: every code path once, tiny repetition counts.
    pub fn quick() -> Self {
        KernelsOptions {
            plan: TimingPlan::QUICK,
            shapes: vec![(1200, 600)],
            batches: vec![1, 3],
            threads: vec![1, 2],
            bits: vec![(2, 2), (2, 0)],
            busy_check: false,
        }
    }
}

/// Keeps one core busy with a spinning thread until dropped.
struct BusyCore {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl BusyCore {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut x = 0u64;
            while !flag.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
        BusyCore {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for BusyCore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `w_rows` (`[m][n]`, one output unit per row) as a Burn `Linear` weight `[n, m]`.
fn burn_layout(w_rows: &[f32], m: usize, n: usize, device: &Device) -> Tensor<2> {
    let mut w = vec![0.0f32; n * m];
    for r in 0..m {
        for c in 0..n {
            w[c * m + r] = w_rows[r * n + c];
        }
    }
    Tensor::<2>::from_data(TensorData::new(w, [n, m]), device)
}

/// One timed product: f32 and packed medians.
struct Timed {
    f32_us: f64,
    packed_us: f64,
}

#[allow(clippy::too_many_arguments)]
fn time_case(
    plan: TimingPlan,
    device: &Device,
    w_f32: &Tensor<2>,
    x_f32: &Tensor<2>,
    weights: &BitPlanes,
    x_raw: &[f32],
    m: usize,
    n: usize,
    batch: usize,
    threads: usize,
    a_bits: usize,
) -> Timed {
    let par = par_for(threads);
    let mut out = vec![0.0f32; batch * m];
    // The caller runs this inside a rayon pool of `threads` threads (see `rayon_pool`).
    debug_assert_eq!(rayon::current_num_threads(), threads);
    let mut f32_op = || {
        let y = x_f32.clone().matmul(w_f32.clone());
        let _ = device.sync();
        std::hint::black_box(y);
    };
    if a_bits == 0 {
        let lut = LutWeights::from(weights);
        let mut scratch = LutScratch::new();
        let mut packed_op = || {
            lut_matmul(&lut, x_raw, batch, &mut out, &mut scratch, par).expect("lut product");
            std::hint::black_box(&out);
        };
        let t = median_us_interleaved(plan, &mut [&mut f32_op, &mut packed_op]);
        Timed {
            f32_us: t[0],
            packed_us: t[1],
        }
    } else {
        let inter = InterleavedPlanes::from(weights);
        let xq = quantize_rows(x_raw, batch, n, a_bits, Method::default(), Par::Seq)
            .expect("quantizing activations")
            .into_codes();
        let mut packed_op = || {
            popcount_matmul(&inter, xq.as_ref(), &mut out, par).expect("popcount product");
            std::hint::black_box(&out);
        };
        let t = median_us_interleaved(plan, &mut [&mut f32_op, &mut packed_op]);
        Timed {
            f32_us: t[0],
            packed_us: t[1],
        }
    }
}

/// Runs the suite: appends JSON rows and returns the markdown tables.
pub fn run(opts: &KernelsOptions, json: &mut JsonRows) -> String {
    let device = Device::flex();
    let tier = Tier::active();
    let mut table = Table::new(&[
        "m×n",
        "batch",
        "threads",
        "W/A bits",
        "tier",
        "f32 Flex µs",
        "packed µs",
        "speedup",
    ]);
    let mut quantized: Vec<((usize, usize, usize), BitPlanes)> = Vec::new();
    for &threads in &opts.threads {
        rayon_pool(threads)
            .expect("building a rayon pool")
            .install(|| {
                for &(m, n) in &opts.shapes {
                    // Weights: N(0,1); Burn stores Linear weights as [n, m].
                    let w_rows = gaussian(m * n, 1);
                    let w_f32 = burn_layout(&w_rows, m, n, &device);
                    for &batch in &opts.batches {
                        let x_raw = gaussian(batch * n, 2);
                        let x_f32 = Tensor::<2>::from_data(
                            TensorData::new(x_raw.clone(), [batch, n]),
                            &device,
                        );
                        for &(w_bits, a_bits) in &opts.bits {
                            let key = (m, n, w_bits);
                            let weights = match quantized.iter().find(|(k, _)| *k == key) {
                                Some((_, q)) => q.clone(),
                                None => {
                                    let q = quantize_rows(
                                        &w_rows,
                                        m,
                                        n,
                                        w_bits,
                                        Method::default(),
                                        Par::Auto,
                                    )
                                    .expect("quantizing weights")
                                    .into_codes();
                                    quantized.push((key, q.clone()));
                                    q
                                }
                            };
                            let t = time_case(
                                opts.plan, &device, &w_f32, &x_f32, &weights, &x_raw, m, n, batch,
                                threads, a_bits,
                            );
                            push_row(
                                &mut table, json, m, n, batch, threads, w_bits, a_bits, tier, &t,
                                false,
                            );
                        }
                    }
                }
            });
    }
    if opts.busy_check {
        let (m, n, batch) = (4096, 1024, 1);
        let w_rows = gaussian(m * n, 1);
        let w_f32 = burn_layout(&w_rows, m, n, &device);
        // The main loop usually quantized these weights already.
        let weights = match quantized.iter().find(|(k, _)| *k == (m, n, 2)) {
            Some((_, q)) => q.clone(),
            None => quantize_rows(&w_rows, m, n, 2, Method::default(), Par::Auto)
                .expect("quantizing weights")
                .into_codes(),
        };
        let x_raw = gaussian(batch * n, 2);
        let x_f32 = Tensor::<2>::from_data(TensorData::new(x_raw.clone(), [batch, n]), &device);
        let one = time_case(
            opts.plan, &device, &w_f32, &x_f32, &weights, &x_raw, m, n, batch, 1, 2,
        );
        let busy = BusyCore::start();
        let two = time_case(
            opts.plan, &device, &w_f32, &x_f32, &weights, &x_raw, m, n, batch, 2, 2,
        );
        drop(busy);
        // The 1-thread row is the reference the busy-core requirement compares with: it runs
        // just before the spinner starts.
        push_row(&mut table, json, m, n, batch, 1, 2, 2, tier, &one, false);
        push_row(&mut table, json, m, n, batch, 2, 2, 2, tier, &two, true);
    }
    let mut md = String::from("### Packed products vs Burn f32 matmul (Flex)\n\n");
    md.push_str(&table.to_markdown());
    md.push_str(
        "\nTimes are medians per call; packed µs excludes activation quantization (see the \
         quantize table). The last two rows: the 1-thread reference, then 2 threads while another thread spins on a core.\n",
    );
    md
}

#[allow(clippy::too_many_arguments)]
fn push_row(
    table: &mut Table,
    json: &mut JsonRows,
    m: usize,
    n: usize,
    batch: usize,
    threads: usize,
    w_bits: usize,
    a_bits: usize,
    tier: Tier,
    t: &Timed,
    busy: bool,
) {
    let speedup = t.f32_us / t.packed_us;
    let bits = if a_bits == 0 {
        format!("{w_bits}/f32")
    } else {
        format!("{w_bits}/{a_bits}")
    };
    let threads_cell = if busy {
        format!("{threads} (busy core)")
    } else {
        threads.to_string()
    };
    table.push(vec![
        format!("{m}×{n}"),
        batch.to_string(),
        threads_cell,
        bits,
        tier.name().to_string(),
        fmt_us(t.f32_us),
        fmt_us(t.packed_us),
        format!("{speedup:.1}×"),
    ]);
    json.push(json!({
        "suite": "kernels", "m": m, "n": n, "batch": batch, "threads": threads,
        "w_bits": w_bits, "a_bits": a_bits, "tier": tier.name(),
        "f32_us": round3(t.f32_us), "packed_us": round3(t.packed_us), "speedup": round3(speedup),
        "busy_core": busy,
    }));
}

/// One allocation-free quantization of `x` into the scratch next to the quantizer.
fn quantize_once(slot: &mut (ActivationQuantizer, Vec<f32>, Vec<u64>), x: &[f32]) {
    let (q, alphas, planes) = slot;
    q.quantize_into(x, alphas, planes).expect("quantize");
    std::hint::black_box((&alphas, &planes));
}

/// The `quantize` rows: one activation vector, allocation-free entry point, for the paper's
/// alternating and for `alternating-multistart` (two starts), timed interleaved.
pub fn run_quantize(plan: TimingPlan, ns: &[usize], bits: &[usize], json: &mut JsonRows) -> String {
    let cycles = 2;
    let methods = [
        Method::Alternating { cycles },
        Method::AlternatingMultiStart { cycles },
    ];
    let mut table = Table::new(&["n", "bits", "cycles", "tier", "method", "µs per vector"]);
    for &n in ns {
        let x = gaussian(n, 3);
        for &k in bits {
            let words = burn_amq_kernels::words_for(n);
            let mut quantizers = methods.map(|m| {
                let q = ActivationQuantizer::new(n, k, m).expect("activation quantizer");
                (q, vec![0.0f32; k], vec![0u64; k * words])
            });
            let [first, second] = &mut quantizers;
            let mut run_first = || quantize_once(first, &x);
            let mut run_second = || quantize_once(second, &x);
            let us = median_us_interleaved(plan, &mut [&mut run_first, &mut run_second]);
            for (method, us) in methods.iter().zip(us) {
                table.push(vec![
                    n.to_string(),
                    k.to_string(),
                    cycles.to_string(),
                    Tier::active().name().to_string(),
                    method.name().to_string(),
                    fmt_us(us),
                ]);
                json.push(json!({
                    "suite": "quantize", "n": n, "bits": k, "cycles": cycles,
                    "tier": Tier::active().name(), "method": method.name(), "us": round3(us),
                }));
            }
        }
    }
    let mut md = String::from("### Online activation quantization (one vector)\n\n");
    md.push_str(&table.to_markdown());
    md
}
