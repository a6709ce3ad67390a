//! `ptb train`: a full-precision language model with Burn's learner.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::common::{DataArgs, RecipeArgs, ResultsArgs, base_label, ppl_cell, print_table};
use crate::data::{EncodedCorpus, Split, load_corpus};
use crate::error::Result;
use crate::model::{CellKind, LmConfig};
use crate::pipeline::{
    best_valid_of, encode_dir, load_fp, split_perplexity, train_fp, train_fp_from,
};
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
    /// Start from the trained full-precision model in DIR (a run, or a `ptb export` such as
    /// `results/bases/ptb-lstm-e10`) instead of a fresh initialisation. The architecture and
    /// vocabulary are the base's; epochs count from 1 at `--lr`, and the dropout stream
    /// continues the base's. Give the same flag again with `--resume`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["cell", "emb", "hidden", "vocab", "dropout"])]
    pub init_from: Option<PathBuf>,
    /// With --init-from: continue the base's plateau rule. The base's best validation
    /// perplexity (its history.json) is the best so far, so a first epoch that does not
    /// beat it divides the learning rate, as resuming the base's run would. Give the base's
    /// last learning rate with --lr.
    #[arg(long, requires = "init_from")]
    pub continue_plateau: bool,
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

fn print_corpus(dir: &Path, corpus: &EncodedCorpus) {
    println!(
        "corpus {}: {} train / {} valid / {} test tokens, vocabulary {}",
        dir.display(),
        corpus.train.len(),
        corpus.valid.len(),
        corpus.test.len(),
        corpus.vocab.len()
    );
}

/// Runs `ptb train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let dir = args.data.resolve()?;
    let cfg = args.recipe.config();
    let run_dir = RunDir::new(&args.out);
    let mut options = FitOptions {
        shadow_clip: None,
        dropout: None,
        resume: args.recipe.resume,
        plateau_best: None,
        echo: true,
    };
    let (lm, corpus, outcome) = match &args.init_from {
        Some(base) => {
            let base = RunDir::new(base);
            let (lm, vocab, _) = load_fp(&base)?;
            if args.continue_plateau {
                options.plateau_best = Some(best_valid_of(&base)?);
            }
            let corpus = encode_dir(&dir, vocab)?;
            print_corpus(&dir, &corpus);
            println!(
                "training {} further, starting from {}",
                lm.name(),
                base.path().display()
            );
            let outcome = train_fp_from(&base, &corpus, &cfg, &run_dir, options)?;
            (lm, corpus, outcome)
        }
        None => {
            let corpus = load_corpus(&dir, Some(args.vocab))?;
            print_corpus(&dir, &corpus);
            let lm = LmConfig::new(corpus.vocab.len())
                .with_d_embedding(args.emb)
                .with_d_hidden(args.hidden)
                .with_cell(args.cell.into())
                .with_dropout(args.dropout);
            let outcome = train_fp(&corpus, &lm, &cfg, &run_dir, options)?;
            (lm, corpus, outcome)
        }
    };
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
        base: args.init_from.as_deref().and_then(base_label),
        decoder_bits: None,
    }])
}
