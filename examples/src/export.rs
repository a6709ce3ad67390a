//! A run's best model as a compact *model directory*: the files `ptb finetune --from`,
//! `ptb direct --from` and `ptb eval --run` read, with the weights stored in f16 (half the
//! bytes of a run's f32 `model.bpk`) and without the per-epoch training state.
//!
//! ```text
//! OUT/lm.json        architecture          OUT/vocab.txt     vocabulary
//! OUT/quant.json     fine-tuned runs only  OUT/model.bpk     the best model, f16 or f32
//! OUT/train.json, history.json, finetune.json, init.json, train.log
//!                    provenance, where the run has them
//! OUT/export.json    where the model came from and how it is stored
//! ```
//!
//! Weights are cast back to f32 when loaded ([`RunDir::load_module`]), so an f16 export
//! behaves like the run's model rounded to f16 (a relative change of at most 2⁻¹¹ per weight).
//! An export cannot be resumed: it has no `checkpoint/`.

use std::path::PathBuf;

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::DType;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pipeline::{load_fp, load_quant};
use crate::train::{RunDir, WARM_START_FILE};

/// How the weights of an exported model are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredPrecision {
    /// IEEE half precision: half the size, weights rounded to 11 significant bits.
    F16,
    /// Single precision: the run's model unchanged.
    F32,
}

impl StoredPrecision {
    fn dtype(self) -> DType {
        match self {
            Self::F16 => DType::F16,
            Self::F32 => DType::F32,
        }
    }
}

/// `OUT/export.json`: the provenance of a model directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportInfo {
    /// The run directory the model was exported from, as given.
    pub source: String,
    /// How `model.bpk` stores the weights.
    pub precision: StoredPrecision,
    /// The epochs the source run had finished (its `history.json`).
    pub epochs: usize,
    /// Whether the model is a fine-tuned (quantized) one.
    pub quantized: bool,
}

/// Files copied verbatim when the source run has them. `init.json` keeps a warm-started
/// run's base, so that a warm start from the export continues the whole dropout stream.
const PROVENANCE_FILES: [&str; 5] = [
    "train.json",
    "history.json",
    "finetune.json",
    WARM_START_FILE,
    "train.log",
];

/// Casts every float parameter to one dtype, keeping ids and gradient settings.
struct CastFloats(DType);

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|tensor| tensor.cast(dtype))
    }
}

/// Writes `from`'s best model and metadata to the new model directory `out`.
///
/// Errors: [`Error::Checkpoint`] when `from` is not a readable run, or when `out` already
/// holds a model (an export never overwrites); [`Error::Io`] for file errors.
pub fn export_run(from: &RunDir, out: &RunDir, precision: StoredPrecision) -> Result<ExportInfo> {
    from.require_exists()?;
    if from.path() == out.path() {
        return Err(Error::InvalidArgument(
            "the export directory must differ from the run directory".into(),
        ));
    }
    if out.model_file().exists() {
        return Err(Error::Checkpoint {
            path: out.model_file(),
            reason: "already exists; export into a new directory".into(),
        });
    }
    let spec = from.quant_spec()?;
    let record = match &spec {
        Some(_) => cast_record(load_quant(from)?.3, precision),
        None => cast_record(load_fp(from)?.2, precision),
    };
    out.create()?;
    let lm = from.lm_config()?;
    out.save_config("lm.json", &lm)?;
    if let Some(spec) = &spec {
        out.save_config("quant.json", spec)?;
    }
    for name in std::iter::once("vocab.txt").chain(PROVENANCE_FILES) {
        let source = from.file(name);
        if source.is_file() {
            std::fs::copy(&source, out.file(name)).map_err(|e| Error::io(&source, e))?;
        }
    }
    record
        .save(out.model_file())
        .map_err(|e| Error::Checkpoint {
            path: out.model_file(),
            reason: format!("cannot save: {e}"),
        })?;
    let info = ExportInfo {
        source: from.path().display().to_string(),
        precision,
        epochs: from.history()?.len(),
        quantized: spec.is_some(),
    };
    write_info(&out.file("export.json"), &info)?;
    Ok(info)
}

/// `module`'s parameters as a record whose float tensors have `precision`'s dtype.
fn cast_record<M: Module>(module: M, precision: StoredPrecision) -> burn::store::ModuleRecord {
    module.map(&mut CastFloats(precision.dtype())).into_record()
}

fn write_info(path: &PathBuf, info: &ExportInfo) -> Result<()> {
    let json = serde_json::to_string_pretty(info).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(path, json + "\n").map_err(|e| Error::io(path, e))
}

/// Reads `DIR/export.json`, `None` for a directory that is not an export.
pub fn read_export_info(dir: &RunDir) -> Result<Option<ExportInfo>> {
    let path = dir.file("export.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| Error::Json { path, source })
}
