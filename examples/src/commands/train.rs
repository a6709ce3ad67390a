//! `ptb train`: a full-precision language model with Burn's learner.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{DataArgs, RecipeArgs, ResultsArgs, ppl_cell, print_table};
use crate::data::{Split, load_corpus};
use crate::error::Result;
use crate::model::{CellKind, LmConfig};
use crate::pipeline::{split_perplexity, train_fp};
use crate::results::ResultRow;
use crate::train::{FitOptions, RunDir};

/// The recurrent cell, as a flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CellArg {
    /// LSTM.
    Lstm,
    /// GRU.
    Gru,
}

impl From<CellArg> for CellKind {
    fn from(c: CellArg) -> Self {
        match c {
            CellArg::Lstm => CellKind::Lstm,
            CellArg::Gru => CellKind::Gru,
        }
    }
}

/// Flags of `ptb train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    /// Corpus.
    pub data: DataArgs,
    /// Run directory (checkpoints, logs, the best model).
    #[arg(long, default_value = "target/runs/ptb-lstm")]
    pub out: PathBuf,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellArg::Lstm)]
    pub cell: CellArg,
    /// Embedding width.
    #[arg(long, default_value_t = 300)]
    pub emb: usize,
    /// Hidden size.
    #[arg(long, default_value_t = 300)]
    pub hidden: usize,
    /// Vocabulary cap (most frequent training words; the rest become <unk>).
    #[arg(long, default_value_t = 10_000)]
    pub vocab: usize,
    /// Dropout probability.
    #[arg(long, default_value_t = 0.5)]
    pub dropout: f64,
    #[command(flatten)]
    /// Training recipe.
    pub recipe: RecipeArgs,
    #[command(flatten)]
    /// Result rows.
    pub results: ResultsArgs,
}

/// Runs `ptb train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let dir = args.data.resolve()?;
    let corpus = load_corpus(&dir, Some(args.vocab))?;
    println!(
        "corpus {}: {} train / {} valid / {} test tokens, vocabulary {}",
        dir.display(),
        corpus.train.len(),
        corpus.valid.len(),
        corpus.test.len(),
        corpus.vocab.len()
    );
    let lm = LmConfig::new(corpus.vocab.len())
        .with_d_embedding(args.emb)
        .with_d_hidden(args.hidden)
        .with_cell(args.cell.into())
        .with_dropout(args.dropout);
    let cfg = args.recipe.config();
    let run_dir = RunDir::new(&args.out);
    let outcome = train_fp(
        &corpus,
        &lm,
        &cfg,
        &run_dir,
        FitOptions {
            shadow_clip: None,
            dropout: None,
            resume: args.recipe.resume,
            echo: true,
        },
    )?;
    if let Some(reason) = &outcome.stopped {
        println!("training stopped early: {reason}");
    }
    let valid = split_perplexity(
        &outcome.model,
        &corpus,
        Split::Valid,
        cfg.eval_batch,
        cfg.bptt,
    )?;
    let test = split_perplexity(
        &outcome.model,
        &corpus,
        Split::Test,
        cfg.eval_batch,
        cfg.bptt,
    )?;
    println!(
        "best model (epoch {}) saved to {}",
        outcome.best_epoch.map_or("-".into(), |e| e.to_string()),
        run_dir.model_file().display()
    );
    print_table(
        &["model", "epochs", "valid ppl", "test ppl"],
        &[vec![
            lm.name(),
            outcome.history.len().to_string(),
            ppl_cell(valid.value()),
            ppl_cell(test.value()),
        ]],
    );
    args.results.write(&[ResultRow {
        dataset: args.results.dataset.clone(),
        model: lm.name(),
        mode: "fp".into(),
        method: None,
        w_bits: 0,
        a_bits: 0,
        valid_ppl: Some(valid.value()),
        test_ppl: Some(test.value()),
        packed_test_ppl: None,
        rel_mse: None,
        epochs: Some(outcome.history.len()),
        train_fraction: Some(cfg.train_fraction),
        shadow_clip: None,
        dropout: Some(lm.dropout),
        decoder_bits: None,
    }])
}
