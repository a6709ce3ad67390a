//! Storage size of packed layers and models, against the same parameters in f32.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};

use burn_amq_kernels::BitPlanes;

use super::file::{LayerKind, PackedLayer, PackedModel};
use super::gru::Recurrent;
use super::{PackedEmbedding, PackedGru, PackedLinear, PackedLstm};

/// What a packed layer (or model) stores, against the same layer's parameters in f32.
///
/// Counts are of what a [packed file](super::file) holds: each weight matrix `[rows, n]` at
/// `k` bits is `rows · k` sign planes of `⌈n/64⌉` u64 words plus `rows · k` f32 coefficients
/// α; biases stay f32. So a bias-free `4096 × 1024` matrix at 2 bits is, per row,
/// `2 · 16 · 8 + 2 · 4 = 264` bytes against `1024 · 4 = 4096` in f32: 2.0625 bits per weight
/// and a ratio of 15.5×. In-memory kernel layouts built on load (interleaved planes, lookup
/// nibbles) and scratch buffers are not counted.
///
/// Reports add up (`+`, [`Sum`]), which is how [`PackedModel::size_report`] totals its layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeReport {
    /// Entries of the weight matrices (`Σ rows · n`).
    pub weights: usize,
    /// Parameters stored as f32 outside the matrices (biases).
    pub biases: usize,
    /// Bytes of the weights' sign planes (`Σ rows · k · ⌈n/64⌉ · 8`).
    pub plane_bytes: usize,
    /// Bytes of the weights' per-row-per-plane coefficients α (`Σ rows · k · 4`).
    pub alpha_bytes: usize,
}

impl SizeReport {
    /// The report of one weight matrix.
    pub(crate) fn of_codes(codes: &BitPlanes) -> Self {
        Self {
            weights: codes.rows() * codes.n(),
            biases: 0,
            plane_bytes: codes.planes().len() * 8,
            alpha_bytes: codes.alphas().len() * 4,
        }
    }

    /// The report of a bias vector (`None`: no bias).
    fn of_bias(bias: Option<&[f32]>) -> Self {
        Self {
            biases: bias.map_or(0, <[f32]>::len),
            ..Self::default()
        }
    }

    /// Bytes of the weight matrices in f32 (`4 · weights`).
    pub fn weight_f32_bytes(&self) -> usize {
        4 * self.weights
    }

    /// Bytes of the packed weight matrices: planes plus α.
    pub fn weight_packed_bytes(&self) -> usize {
        self.plane_bytes + self.alpha_bytes
    }

    /// Bytes of the biases (f32 in both forms).
    pub fn bias_bytes(&self) -> usize {
        4 * self.biases
    }

    /// Bytes of all parameters in f32: weights plus biases.
    pub fn f32_bytes(&self) -> usize {
        self.weight_f32_bytes() + self.bias_bytes()
    }

    /// Bytes of what is stored: weight planes, α and f32 biases.
    pub fn packed_bytes(&self) -> usize {
        self.weight_packed_bytes() + self.bias_bytes()
    }

    /// Stored bits per weight of the weight matrices, planes and α
    /// (`8 · weight_packed_bytes / weights`); NaN without weights.
    pub fn bits_per_weight(&self) -> f64 {
        8.0 * self.weight_packed_bytes() as f64 / self.weights as f64
    }

    /// Compression of the whole layer: `f32_bytes / packed_bytes`; NaN when empty.
    pub fn ratio(&self) -> f64 {
        self.f32_bytes() as f64 / self.packed_bytes() as f64
    }

    /// Compression of the weight matrices alone: `weight_f32_bytes / weight_packed_bytes`;
    /// NaN without weights.
    pub fn weight_ratio(&self) -> f64 {
        self.weight_f32_bytes() as f64 / self.weight_packed_bytes() as f64
    }
}

impl Add for SizeReport {
    type Output = SizeReport;

    fn add(self, rhs: SizeReport) -> SizeReport {
        SizeReport {
            weights: self.weights + rhs.weights,
            biases: self.biases + rhs.biases,
            plane_bytes: self.plane_bytes + rhs.plane_bytes,
            alpha_bytes: self.alpha_bytes + rhs.alpha_bytes,
        }
    }
}

impl AddAssign for SizeReport {
    fn add_assign(&mut self, rhs: SizeReport) {
        *self = *self + rhs;
    }
}

impl Sum for SizeReport {
    fn sum<I: Iterator<Item = SizeReport>>(iter: I) -> SizeReport {
        iter.fold(SizeReport::default(), Add::add)
    }
}

impl fmt::Display for SizeReport {
    /// One line: `4194304 weights + 0 biases: 1081344 B packed vs 16777216 B f32 (15.52×);
    /// 2.062 bits/weight, weights only 15.52×`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} weights + {} biases: {} B packed vs {} B f32 ({:.2}×); {:.3} bits/weight, \
             weights only {:.2}×",
            self.weights,
            self.biases,
            self.packed_bytes(),
            self.f32_bytes(),
            self.ratio(),
            self.bits_per_weight(),
            self.weight_ratio()
        )
    }
}

impl PackedLinear {
    /// Stored size: the weight matrix and the bias (see [`SizeReport`]).
    pub fn size_report(&self) -> SizeReport {
        SizeReport::of_codes(self.weight.codes()) + SizeReport::of_bias(self.bias.as_deref())
    }
}

impl PackedEmbedding {
    /// Stored size: the table (see [`SizeReport`]).
    pub fn size_report(&self) -> SizeReport {
        SizeReport::of_codes(&self.table)
    }
}

impl PackedLstm {
    /// Stored size: both fused matrices and the bias (see [`SizeReport`]).
    pub fn size_report(&self) -> SizeReport {
        SizeReport::of_codes(self.input.codes())
            + SizeReport::of_codes(self.recurrent.codes())
            + SizeReport::of_bias(self.bias.as_deref())
    }
}

impl PackedGru {
    /// Stored size: the fused matrices and both biases (see [`SizeReport`]).
    pub fn size_report(&self) -> SizeReport {
        let recurrent = match &self.recurrent {
            Recurrent::After(u) => SizeReport::of_codes(u.codes()),
            Recurrent::Before { update_reset, new } => {
                SizeReport::of_codes(update_reset.codes()) + SizeReport::of_codes(new.codes())
            }
        };
        SizeReport::of_codes(self.input.codes())
            + recurrent
            + SizeReport::of_bias(self.bias.as_deref())
            + SizeReport::of_bias(self.recurrent_new_bias.as_deref())
    }
}

impl PackedLayer {
    /// Stored size of the layer (see [`SizeReport`]).
    pub fn size_report(&self) -> SizeReport {
        match self {
            PackedLayer::Linear(l) => l.size_report(),
            PackedLayer::Embedding(l) => l.size_report(),
            PackedLayer::Lstm(l) => l.size_report(),
            PackedLayer::Gru(l) => l.size_report(),
        }
    }
}

/// [`SizeReport`]s of a [`PackedModel`]'s layers and their total; displays as a markdown table.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSizeReport {
    /// Name, type and report of every layer, in model order.
    pub layers: Vec<(String, LayerKind, SizeReport)>,
    /// The sum of the layers' reports.
    pub total: SizeReport,
}

impl PackedModel {
    /// Stored size per layer and in total (see [`SizeReport`]).
    pub fn size_report(&self) -> ModelSizeReport {
        let layers: Vec<_> = self
            .layers()
            .map(|(name, layer)| (name.to_owned(), layer.kind(), layer.size_report()))
            .collect();
        let total = layers.iter().map(|(_, _, r)| *r).sum();
        ModelSizeReport { layers, total }
    }
}

impl fmt::Display for ModelSizeReport {
    /// A markdown table: one row per layer, then the total.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| layer | type | weights | biases | f32 bytes | packed bytes | bits/weight | ratio | weights-only ratio |"
        )?;
        writeln!(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|")?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, kind: &str, r: &SizeReport| {
            writeln!(
                f,
                "| {name} | {kind} | {} | {} | {} | {} | {:.3} | {:.2}× | {:.2}× |",
                r.weights,
                r.biases,
                r.f32_bytes(),
                r.packed_bytes(),
                r.bits_per_weight(),
                r.ratio(),
                r.weight_ratio()
            )
        };
        for (name, kind, r) in &self.layers {
            row(f, name, kind.name(), r)?;
        }
        row(f, "total", "", &self.total)
    }
}
