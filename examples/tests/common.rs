//! Shared fixtures: a tiny corpus cut from the embedded WikiText-2 excerpt and one trained
//! full-precision run reused by the tests of a binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use burn_amq_examples::data::{CorpusText, EncodedCorpus};
use burn_amq_examples::model::LmConfig;
use burn_amq_examples::pipeline::train_fp;
use burn_amq_examples::quickstart::embedded_corpus;
use burn_amq_examples::train::{EpochSummary, FitOptions, RunDir, TrainConfig};

/// The first lines of each split of the embedded corpus.
pub fn tiny_text() -> CorpusText {
    let full = embedded_corpus().expect("embedded corpus");
    let head = |s: &str, n: usize| s.lines().take(n).collect::<Vec<_>>().join("\n") + "\n";
    CorpusText {
        dir: "tiny".into(),
        train: head(&full.train, 120),
        valid: head(&full.valid, 30),
        test: head(&full.test, 30),
    }
}

/// The tiny corpus with a vocabulary of at most 400 words.
pub fn tiny_corpus() -> EncodedCorpus {
    EncodedCorpus::build(&tiny_text(), Some(400)).expect("corpus")
}

/// A small LSTM for the tiny corpus.
pub fn tiny_lm(vocab: usize) -> LmConfig {
    LmConfig::new(vocab)
        .with_d_embedding(32)
        .with_d_hidden(32)
        .with_dropout(0.1)
}

/// A short recipe: a few steps per epoch, small windows.
pub fn tiny_recipe(epochs: usize) -> TrainConfig {
    TrainConfig::new()
        .with_epochs(epochs)
        .with_max_steps(Some(12))
        .with_bptt(12)
        .with_batch(8)
        .with_eval_batch(4)
        .with_log_every(0)
        .with_seed(7)
}

/// A fresh scratch directory under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Quiet options.
pub fn quiet(resume: bool) -> FitOptions {
    FitOptions {
        shadow_clip: None,
        dropout: None,
        resume,
        plateau_best: None,
        echo: false,
    }
}

/// One full-precision run (3 epochs), trained once per test binary.
pub fn trained_fp_run() -> &'static (RunDir, Vec<EpochSummary>) {
    static RUN: OnceLock<(RunDir, Vec<EpochSummary>)> = OnceLock::new();
    RUN.get_or_init(|| {
        let corpus = tiny_corpus();
        let run = RunDir::new(scratch("fp-run"));
        let outcome = train_fp(
            &corpus,
            &tiny_lm(corpus.vocab.len()),
            &tiny_recipe(3),
            &run,
            quiet(false),
        )
        .expect("training");
        (run, outcome.history)
    })
}

/// Copies a run directory (tests that damage files work on a copy).
pub fn copy_run(run: &RunDir, name: &str) -> RunDir {
    let dst = scratch(name);
    copy_dir(run.path(), &dst);
    RunDir::new(dst)
}

fn copy_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read dir") {
        let entry = entry.expect("entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
}
