//! Result rows (`results/ptb.json`): one JSON object per model and setting.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One result. Fields that do not apply are `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Corpus, e.g. `"ptb"`.
    pub dataset: String,
    /// Architecture, e.g. `"lstm-1x300"`.
    pub model: String,
    /// `"fp"`, `"direct"` or `"qat"`.
    pub mode: String,
    /// Quantization method (`null` for full precision).
    pub method: Option<String>,
    /// Weight bits (0 = not quantized).
    pub w_bits: usize,
    /// Activation bits (0 = not quantized).
    pub a_bits: usize,
    /// Validation perplexity.
    pub valid_ppl: Option<f64>,
    /// Test perplexity (fake-quantized for quantized models).
    pub test_ppl: Option<f64>,
    /// Test perplexity of the packed model run by the CPU kernels.
    pub packed_test_ppl: Option<f64>,
    /// `Σ‖W − Ŵ‖² / Σ‖W‖²` over the quantized matrices (direct quantization).
    pub rel_mse: Option<f64>,
    /// Epochs trained.
    pub epochs: Option<usize>,
    /// Fraction of each epoch's training windows used (`--train-fraction`; 1 = whole
    /// epochs). Rows written before this field existed read as `null`.
    #[serde(default)]
    pub train_fraction: Option<f64>,
    /// Fine-tuning only: the bound `c` the shadow weights were clamped to, `[−c, c]`
    /// (`--shadow-clip`; `null`: not clamped, or not a fine-tuned row).
    #[serde(default)]
    pub shadow_clip: Option<f64>,
    /// Training rows: the dropout probability the model was trained with (for a fine-tuned
    /// row, the fine-tuning's: `--dropout`, else the base model's). `null` for direct rows
    /// and for rows written before this field existed.
    #[serde(default)]
    pub dropout: Option<f64>,
    /// Fine-tuning only: the decoder's weight bits when `--decoder-bits` set them apart
    /// from `w_bits` (`null`: the decoder has `w_bits`).
    #[serde(default)]
    pub decoder_bits: Option<usize>,
    /// The model a row's run started from: the directory name of `--from` (fine-tuning,
    /// direct quantization) or `--init-from` (a warm-started full-precision run), e.g.
    /// `"ptb-lstm-e10"`; `null` for a full-precision run from scratch and for rows written
    /// before this field existed.
    #[serde(default)]
    pub base: Option<String>,
}

/// [`ResultRow::key`]: dataset, model, mode, method, weight and activation bits, shadow
/// clamp, epochs, train fraction, dropout, decoder bits, base.
type RowKey<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    usize,
    usize,
    Option<f64>,
    Option<usize>,
    Option<f64>,
    Option<f64>,
    Option<usize>,
    Option<&'a str>,
);

impl ResultRow {
    /// What identifies a setting: rows with equal keys replace each other. The length of
    /// training is part of it, so a run resumed for more epochs, or a copy of a run trained
    /// further (a control), adds a row instead of replacing the shorter run's.
    fn key(&self) -> RowKey<'_> {
        (
            &self.dataset,
            &self.model,
            &self.mode,
            self.method.as_deref(),
            self.w_bits,
            self.a_bits,
            self.shadow_clip,
            self.epochs,
            self.train_fraction,
            self.dropout,
            self.decoder_bits,
            self.base.as_deref(),
        )
    }
}

/// Reads the rows of `path` (none when the file does not exist).
pub fn read_rows(path: &Path) -> Result<Vec<ResultRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Adds `rows` to the file at `path`: a row with the same setting ([`ResultRow`]'s key:
/// model, mode, method, bits, clamp, epochs, fraction, dropout, decoder bits and base)
/// replaces the old one, others are appended.
pub fn merge_rows(path: &Path, rows: &[ResultRow]) -> Result<()> {
    let mut all = read_rows(path)?;
    for row in rows {
        match all.iter_mut().find(|old| old.key() == row.key()) {
            Some(old) => *old = row.clone(),
            None => all.push(row.clone()),
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let json = serde_json::to_string_pretty(&all).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, json + "\n").map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(mode: &str, test_ppl: f64) -> ResultRow {
        ResultRow {
            dataset: "ptb".into(),
            model: "lstm-1x300".into(),
            mode: mode.into(),
            method: None,
            w_bits: 0,
            a_bits: 0,
            valid_ppl: None,
            test_ppl: Some(test_ppl),
            packed_test_ppl: None,
            rel_mse: None,
            epochs: Some(1),
            train_fraction: Some(1.0),
            shadow_clip: None,
            dropout: Some(0.5),
            decoder_bits: None,
            base: None,
        }
    }

    #[test]
    fn merge_replaces_same_key_and_appends_others() {
        let path = std::env::temp_dir().join(format!("amq-results-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&path);
        merge_rows(&path, &[row("fp", 100.0)]).unwrap();
        merge_rows(&path, &[row("fp", 90.0), row("direct", 120.0)]).unwrap();
        let rows = read_rows(&path).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].test_ppl, Some(90.0));
        // More epochs, a part of an epoch, another dropout or decoder width: another row.
        let longer = ResultRow {
            epochs: Some(2),
            ..row("fp", 80.0)
        };
        let partial = ResultRow {
            train_fraction: Some(0.25),
            ..row("fp", 85.0)
        };
        let lighter = ResultRow {
            dropout: Some(0.3),
            ..row("fp", 88.0)
        };
        let wide_decoder = ResultRow {
            decoder_bits: Some(8),
            ..row("fp", 87.0)
        };
        let other_base = ResultRow {
            base: Some("ptb-lstm-e10".into()),
            ..row("fp", 86.0)
        };
        merge_rows(&path, &[longer, partial, lighter, wide_decoder, other_base]).unwrap();
        let rows = read_rows(&path).unwrap();
        assert_eq!(rows.len(), 7);
        assert_eq!(rows[6].base.as_deref(), Some("ptb-lstm-e10"));
        assert_eq!(rows[0].test_ppl, Some(90.0));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"packed_test_ppl\": null"), "{text}");
        std::fs::remove_file(&path).unwrap();
    }

    /// Rows written before the `base` field existed read as `base: null`.
    #[test]
    fn old_rows_load_without_a_base() {
        let mut value = serde_json::to_value(row("fp", 100.0)).unwrap();
        value.as_object_mut().unwrap().remove("base");
        let old: ResultRow = serde_json::from_value(value).unwrap();
        assert_eq!(old, row("fp", 100.0));
    }
}
