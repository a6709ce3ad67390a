//! The files of a training or fine-tuning run directory.
//!
//! ```text
//! DIR/lm.json          architecture (LmConfig)
//! DIR/quant.json       quantization (QuantSpec), fine-tuned runs only
//! DIR/train.json       the training recipe used (TrainConfig)
//! DIR/vocab.txt        vocabulary, one word per line
//! DIR/train.log        progress and epoch lines (appended; survives restarts)
//! DIR/history.json     finished epochs
//! DIR/checkpoint/      Burn's per-epoch checkpoints: model-N.bpk, optim-N.bpk, scheduler-N.bpk
//! DIR/model.bpk        the best (lowest validation perplexity) model, without training state
//! ```

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::Module;
use burn::optim::OptimizerRecord;
use burn::optim::lr_scheduler::LrSchedulerRecord;
use burn::store::ModuleRecord;
use burn::train::checkpoint::{Checkpointer, FileCheckpointer};

use super::monitor::EpochSummary;
use crate::data::Vocabulary;
use crate::error::{Error, Result};
use crate::model::{LmConfig, QuantSpec};

/// A run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// The run directory at `path` (nothing is created yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the directory (and its parents).
    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.path).map_err(|e| Error::io(&self.path, e))
    }

    /// `DIR/name`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// `DIR/checkpoint`.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.path.join("checkpoint")
    }

    /// `DIR/model.bpk`, the best model.
    pub fn model_file(&self) -> PathBuf {
        self.file("model.bpk")
    }

    /// Fails with [`Error::Checkpoint`] unless `DIR` is a directory.
    pub fn require_exists(&self) -> Result<()> {
        if self.path.is_dir() {
            Ok(())
        } else {
            Err(Error::Checkpoint {
                path: self.path.clone(),
                reason: "run directory does not exist".into(),
            })
        }
    }

    /// Writes a config as JSON to `DIR/name`.
    pub fn save_config<C: Config>(&self, name: &str, config: &C) -> Result<()> {
        let path = self.file(name);
        config.save(&path).map_err(|e| Error::io(&path, e))
    }

    /// Reads the architecture `DIR/lm.json`.
    pub fn lm_config(&self) -> Result<LmConfig> {
        self.load_config("lm.json")
    }

    /// Reads the quantization `DIR/quant.json`, `None` for a full-precision run.
    pub fn quant_spec(&self) -> Result<Option<QuantSpec>> {
        self.optional_config("quant.json")
    }

    /// Reads the config `DIR/name`, `None` when the file does not exist.
    ///
    /// Errors: [`Error::Checkpoint`] for a file that exists but does not parse.
    pub fn optional_config<C: Config>(&self, name: &str) -> Result<Option<C>> {
        if self.file(name).is_file() {
            self.load_config(name).map(Some)
        } else {
            Ok(None)
        }
    }

    fn load_config<C: Config>(&self, name: &str) -> Result<C> {
        let path = self.file(name);
        if !path.is_file() {
            return Err(Error::Checkpoint {
                path,
                reason:
                    "missing; is this a run directory written by `ptb train` or `ptb finetune`?"
                        .into(),
            });
        }
        C::load(&path).map_err(|e| Error::Checkpoint {
            path,
            reason: format!("unreadable config: {e}"),
        })
    }

    /// Reads `DIR/vocab.txt` and checks it against the model's vocabulary size.
    pub fn vocab(&self, lm: &LmConfig) -> Result<Vocabulary> {
        let path = self.file("vocab.txt");
        let vocab = Vocabulary::load(&path)?;
        vocab.check_size(lm.vocab_size, path.display().to_string())?;
        Ok(vocab)
    }

    /// The finished epochs recorded in `DIR/history.json` (empty when absent).
    pub fn history(&self) -> Result<Vec<EpochSummary>> {
        let path = self.file("history.json");
        if !path.is_file() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text).map_err(|source| Error::Json { path, source })
    }

    /// The last epoch with a model checkpoint in `DIR/checkpoint`.
    pub fn latest_checkpoint(&self) -> Option<usize> {
        let entries = std::fs::read_dir(self.checkpoint_dir()).ok()?;
        entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_prefix("model-")?
                    .strip_suffix(".bpk")?
                    .parse::<usize>()
                    .ok()
            })
            .max()
    }

    /// Loads the model, optimizer and scheduler checkpoint of `epoch` the way Burn's learner
    /// will when resuming (which panics on failure), so a corrupt or mismatched checkpoint
    /// is reported as [`Error::Checkpoint`] first. `module` is a model of the run's shape.
    pub fn check_checkpoint<M: Module>(&self, epoch: usize, module: M) -> Result<()> {
        let dir = self.checkpoint_dir();
        let fail = |name: &str, reason: String| Error::Checkpoint {
            path: dir.join(format!("{name}-{epoch}.bpk")),
            reason,
        };
        let model: ModuleRecord =
            Checkpointer::restore(&FileCheckpointer::new(&dir, "model"), epoch)
                .map_err(|e| fail("model", e.to_string()))?;
        module
            .try_load_record(model)
            .map_err(|e| fail("model", format!("does not fit the model: {e}")))?;
        let _: OptimizerRecord =
            Checkpointer::restore(&FileCheckpointer::new(&dir, "optim"), epoch)
                .map_err(|e| fail("optim", e.to_string()))?;
        let _: LrSchedulerRecord =
            Checkpointer::restore(&FileCheckpointer::new(&dir, "scheduler"), epoch)
                .map_err(|e| fail("scheduler", e.to_string()))?;
        Ok(())
    }

    /// Loads `module`'s parameters from a burnpack file, as [`Error::Checkpoint`] on failure.
    /// Stored tensors are cast to the dtypes of `module`'s parameters, so an f16 file (a
    /// `ptb export`) loads into an f32 model as f32.
    pub fn load_module<M: Module>(path: &Path, module: M) -> Result<M> {
        if !path.is_file() {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                reason: "file not found".into(),
            });
        }
        let fail = |e: burn::store::RecordError| Error::Checkpoint {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let record = ModuleRecord::load(path).map_err(fail)?;
        module
            .try_load_record(record.cast_to_module_dtype())
            .map_err(fail)
    }

    /// Saves `module`'s parameters to a burnpack file.
    pub fn save_module<M: Module>(path: &Path, module: M) -> Result<()> {
        module.save_file(path).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot save: {e}"),
        })
    }
}
