//! Flags shared by several commands.

use std::path::{Path, PathBuf};

use burn_amq::QuantMethod;
use burn_amq_kernels::quant::Method;
use clap::Args;

use crate::error::{Error, Result};
use crate::results::{ResultRow, merge_rows};
use crate::train::TrainConfig;

/// Where the corpus is.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Corpus directory with the train/valid/test splits (ptb.train.txt, ... or .txt.gz).
    /// Default: ../shared/data/ptb when it exists.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

impl DataArgs {
    /// The data directory: `--data`, else `../shared/data/ptb` (relative to the current
    /// directory, then to the workspace root).
    pub fn resolve(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.data {
            if dir.is_dir() {
                return Ok(dir.clone());
            }
            return Err(Error::MissingDataDir { path: dir.clone() });
        }
        let candidates = [
            PathBuf::from("../shared/data/ptb"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ptb"),
        ];
        candidates
            .iter()
            .find(|dir| dir.is_dir())
            .cloned()
            .ok_or_else(|| Error::MissingDataDir {
                path: candidates[0].clone(),
            })
    }
}

/// The training recipe (defaults: the paper's).
#[derive(Debug, Clone, Args)]
pub struct RecipeArgs {
    /// Initial SGD learning rate.
    #[arg(long, default_value_t = 20.0)]
    pub lr: f64,
    /// Divide the learning rate by this when validation perplexity gets worse.
    #[arg(long, default_value_t = 1.2)]
    pub lr_decay: f64,
    /// Stop once the learning rate falls below this.
    #[arg(long, default_value_t = 1e-3)]
    pub min_lr: f64,
    /// Clip gradients to this global L2 norm (0: no clipping).
    #[arg(long, default_value_t = 0.25)]
    pub clip: f32,
    /// Back-propagation-through-time window length.
    #[arg(long, default_value_t = 30)]
    pub bptt: usize,
    /// Training batch (parallel streams).
    #[arg(long, default_value_t = 20)]
    pub batch: usize,
    /// Batch (parallel streams) of validation and test evaluation.
    #[arg(long, default_value_t = 10)]
    pub eval_batch: usize,
    /// Maximum number of epochs.
    #[arg(long, default_value_t = 40)]
    pub epochs: usize,
    /// Cut every epoch to this many training steps (for quick runs and timing).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Use only this leading fraction of the training windows per epoch.
    #[arg(long, default_value_t = 1.0)]
    pub train_fraction: f64,
    /// Print a progress line every N steps (0: epoch lines only).
    #[arg(long, default_value_t = 100)]
    pub log_every: usize,
    /// RNG seed (initialisation, dropout).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Continue the run in --out after its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: continue at this learning rate instead of the checkpoint's (a manual
    /// decay step; the plateau rule goes on from there).
    #[arg(long, value_name = "LR", requires = "resume")]
    pub restart_lr: Option<f64>,
}

impl RecipeArgs {
    /// The recipe as a [`TrainConfig`].
    pub fn config(&self) -> TrainConfig {
        TrainConfig::new()
            .with_lr(self.lr)
            .with_lr_decay(self.lr_decay)
            .with_min_lr(self.min_lr)
            .with_grad_clip(self.clip)
            .with_bptt(self.bptt)
            .with_batch(self.batch)
            .with_eval_batch(self.eval_batch)
            .with_epochs(self.epochs)
            .with_max_steps(self.max_steps)
            .with_train_fraction(self.train_fraction)
            .with_log_every(self.log_every)
            .with_seed(self.seed)
            .with_restart_lr(self.restart_lr)
    }
}

/// Where result rows go.
#[derive(Debug, Clone, Args)]
pub struct ResultsArgs {
    /// JSON file the result rows are merged into.
    #[arg(long, value_name = "PATH", default_value = "results/ptb.json")]
    pub results: PathBuf,
    /// Do not write result rows.
    #[arg(long)]
    pub no_results: bool,
    /// Dataset name written into the rows.
    #[arg(long, default_value = "ptb")]
    pub dataset: String,
}

impl ResultsArgs {
    /// Merges `rows` into the results file unless disabled.
    pub fn write(&self, rows: &[ResultRow]) -> Result<()> {
        if self.no_results {
            return Ok(());
        }
        merge_rows(&self.results, rows)?;
        println!(
            "results: {} row(s) merged into {}",
            rows.len(),
            self.results.display()
        );
        Ok(())
    }
}

/// Parses a method name (`uniform`, `balanced`, `greedy`, `refined`, `alternating[:T]`,
/// `alternating-refit[:T]`).
pub fn parse_method(name: &str) -> Result<Method> {
    Ok(name.parse::<Method>()?)
}

/// A method the quantized layers can train with (greedy, refined, alternating,
/// alternating-refit, alternating-multistart).
pub fn trainable_method(name: &str) -> Result<QuantMethod> {
    Ok(QuantMethod::try_from(parse_method(name)?)?)
}

/// Bits given as `0` mean "not quantized".
pub fn optional_bits(bits: usize) -> Option<usize> {
    (bits > 0).then_some(bits)
}

/// The name a result row gives the model directory `dir` it started from: its last path
/// component (`results/bases/ptb-lstm-e10` and `target/runs/ptb-lstm-e10` are both
/// `ptb-lstm-e10`, the same model before and after `ptb export`).
pub fn base_label(dir: &Path) -> Option<String> {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
}

/// A markdown table.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    println!("| {} |", header.join(" | "));
    println!("|{}", " --- |".repeat(header.len()));
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

/// A perplexity for a table cell.
pub fn ppl_cell(v: f64) -> String {
    format!("{v:.2}")
}
