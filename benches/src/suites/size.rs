//! The `size` suite: what a packed `QuantLinear` stores against the same matrix in f32.
//!
//! Sizes are counted, not timed, so this suite is deterministic: the figures come from the
//! packed layer's [`SizeReport`](burn_amq::packed::SizeReport) and the length of its file.

use burn::prelude::*;
use burn_amq::nn::QuantLinearConfig;
use serde_json::json;

use super::SuiteError;
use crate::report::{JsonRows, Table, round3};

/// The matrices and bit widths of the report.
#[derive(Debug, Clone)]
pub struct SizeOptions {
    /// `(m, n)`: output rows and input columns of a bias-free `QuantLinear`.
    pub shapes: Vec<(usize, usize)>,
    /// Weight bits.
    pub bits: Vec<usize>,
}

impl SizeOptions {
    /// The rows: a 4096×1024 matrix at 1…4 bits.
    pub fn full() -> Self {
        Self {
            shapes: vec![(4096, 1024)],
            bits: vec![1, 2, 3, 4],
        }
    }
}

/// Packs a seeded bias-free `[m, n]` `QuantLinear` at each bit width and reports its weight
/// bytes in f32 and packed (bit planes plus one f32 α per row and plane), the ratio, the
/// stored bits per weight and the length of its packed file (header included).
pub fn run(opts: &SizeOptions, json: &mut JsonRows) -> Result<String, SuiteError> {
    let device = Device::flex();
    device.seed(7);
    let mut table = Table::new(&[
        "matrix",
        "bits",
        "f32 bytes",
        "packed bytes",
        "bits/weight",
        "ratio",
        "file bytes",
    ]);
    for &(m, n) in &opts.shapes {
        for &bits in &opts.bits {
            let packed = QuantLinearConfig::new(n, m)
                .with_bias(false)
                .with_weight_bits(Some(bits))
                .init(&device)?
                .pack()?;
            let report = packed.size_report();
            let file_bytes = packed.to_bytes()?.len();
            let (f32_bytes, packed_bytes) = (report.f32_bytes(), report.packed_bytes());
            let ratio = report.ratio();
            table.push(vec![
                format!("{m}×{n}"),
                bits.to_string(),
                f32_bytes.to_string(),
                packed_bytes.to_string(),
                format!("{:.3}", report.bits_per_weight()),
                format!("{ratio:.2}×"),
                file_bytes.to_string(),
            ]);
            json.push(json!({
                "suite": "size",
                "m": m,
                "n": n,
                "bits": bits,
                "f32_bytes": f32_bytes,
                "packed_bytes": packed_bytes,
                "ratio": round3(ratio),
                "bits_per_weight": round3(report.bits_per_weight()),
                "file_bytes": file_bytes,
            }));
        }
    }
    Ok(format!(
        "## size: bias-free QuantLinear, weights packed vs f32\n\n{}",
        table.to_markdown()
    ))
}
