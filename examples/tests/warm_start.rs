//! `ptb train --init-from`: full-precision training that starts from a trained model
//! directory (a run or an export) instead of a fresh initialisation.

mod common;

use std::sync::{Mutex, MutexGuard, PoisonError};

use burn_amq_examples::Error;
use burn_amq_examples::export::{StoredPrecision, export_run};
use burn_amq_examples::model::QuantSpec;
use burn_amq_examples::pipeline::{best_valid_of, finetune, load_fp, train_fp, train_fp_from};
use burn_amq_examples::train::{FitOptions, RunDir, WarmStart};
use common::*;

/// Training draws dropout masks from Burn's global generator: a test that compares runs
/// bit for bit must not overlap another test's training.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn values(t: burn::prelude::Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Starting from an exact (f32) export of a one-epoch run is resuming that run: the same
/// learning rate and the same dropout stream give the same second epoch, bit for bit.
#[test]
fn warm_start_from_an_export_matches_resuming_the_run() {
    let _turn = serial();
    let corpus = tiny_corpus();
    let lm = tiny_lm(corpus.vocab.len());
    let run = RunDir::new(scratch("warm-base"));
    let first = train_fp(&corpus, &lm, &tiny_recipe(1), &run, quiet(false)).unwrap();
    let export = RunDir::new(scratch("warm-export"));
    export_run(&run, &export, StoredPrecision::F32).unwrap();
    let resumed = train_fp(&corpus, &lm, &tiny_recipe(2), &run, quiet(true)).unwrap();

    let warm_dir = RunDir::new(scratch("warm-run"));
    let recipe = tiny_recipe(1).with_lr(first.history[0].next_lr);
    let warm = train_fp_from(&export, &corpus, &recipe, &warm_dir, quiet(false)).unwrap();
    assert_eq!(warm.history.len(), 1);
    assert_eq!(warm.history[0].epoch, 1);
    let (a, b) = (&warm.history[0], &resumed.history[1]);
    assert_eq!(a.train_ppl, b.train_ppl, "{a:?} vs {b:?}");
    assert_eq!(a.valid_ppl, b.valid_ppl, "{a:?} vs {b:?}");
    assert_eq!(
        values(warm.model.decoder.weight.val()),
        values(resumed.model.decoder.weight.val())
    );
    let init: WarmStart = warm_dir.optional_config("init.json").unwrap().unwrap();
    assert_eq!(init.base_epochs, 1);
    assert_eq!(init.source, export.path().display().to_string());

    // Resuming the warm-started run needs its base, which it checks.
    let more = tiny_recipe(2);
    let err = train_fp(&corpus, &lm, &more, &warm_dir, quiet(true)).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    let err = train_fp_from(&run, &corpus, &more, &warm_dir, quiet(true)).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    let again = train_fp_from(&export, &corpus, &more, &warm_dir, quiet(true)).unwrap();
    assert_eq!(
        again.history.iter().map(|e| e.epoch).collect::<Vec<_>>(),
        [1, 2]
    );
    // A fresh run in the same directory is not a warm start any more.
    train_fp(&corpus, &lm, &tiny_recipe(1), &warm_dir, quiet(false)).unwrap();
    assert!(!warm_dir.file("init.json").exists());
}

/// A warm start from the export of a warm-started run continues the whole stream: a run,
/// a warm start from it, then a warm start from that one's export, is the run resumed
/// after its first and after its second epoch.
#[test]
fn chained_warm_starts_match_one_resumed_run() {
    let _turn = serial();
    let corpus = tiny_corpus();
    let lm = tiny_lm(corpus.vocab.len());
    let run = RunDir::new(scratch("chain-base"));
    let first = train_fp(&corpus, &lm, &tiny_recipe(1), &run, quiet(false)).unwrap();
    let middle = RunDir::new(scratch("chain-middle"));
    let recipe = tiny_recipe(1).with_lr(first.history[0].next_lr);
    let second = train_fp_from(&run, &corpus, &recipe, &middle, quiet(false)).unwrap();
    let export = RunDir::new(scratch("chain-export"));
    export_run(&middle, &export, StoredPrecision::F32).unwrap();
    let exported: WarmStart = export.optional_config("init.json").unwrap().unwrap();
    assert_eq!(exported.base_epochs, 1);

    let last = RunDir::new(scratch("chain-last"));
    let recipe = tiny_recipe(1).with_lr(second.history[0].next_lr);
    let third = train_fp_from(&export, &corpus, &recipe, &last, quiet(false)).unwrap();
    let init: WarmStart = last.optional_config("init.json").unwrap().unwrap();
    assert_eq!(
        init.base_epochs, 2,
        "one epoch of the export plus one behind it"
    );

    // Each process start reseeds from the epochs done, so the reference resumes at the same
    // epochs as the chain starts: after one and after two.
    train_fp(&corpus, &lm, &tiny_recipe(2), &run, quiet(true)).unwrap();
    let resumed = train_fp(&corpus, &lm, &tiny_recipe(3), &run, quiet(true)).unwrap();
    assert_eq!(resumed.history.len(), 3);
    let (a, b) = (&third.history[0], &resumed.history[2]);
    assert_eq!(a.train_ppl, b.train_ppl, "{a:?} vs {b:?}");
    assert_eq!(a.valid_ppl, b.valid_ppl, "{a:?} vs {b:?}");
    assert_eq!(
        values(third.model.decoder.weight.val()),
        values(resumed.model.decoder.weight.val())
    );
}

#[test]
fn warm_start_refuses_what_it_cannot_continue() {
    let _turn = serial();
    let (run, _) = trained_fp_run();
    let corpus = tiny_corpus();
    let recipe = tiny_recipe(1);
    // Itself.
    let err = train_fp_from(run, &corpus, &recipe, run, quiet(false)).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    // A missing base.
    let missing = RunDir::new(scratch("warm-missing").join("absent"));
    let out = RunDir::new(scratch("warm-out"));
    let err = train_fp_from(&missing, &corpus, &recipe, &out, quiet(false)).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    // A corpus with another vocabulary.
    let other = burn_amq_examples::data::EncodedCorpus::build(&tiny_text(), Some(100)).unwrap();
    let err = train_fp_from(run, &other, &recipe, &out, quiet(false)).unwrap_err();
    assert!(matches!(err, Error::VocabularyMismatch { .. }), "{err}");
    // A fine-tuned (quantized) model.
    let tuned = RunDir::new(scratch("warm-tuned"));
    finetune(
        run,
        &corpus,
        &QuantSpec::new(),
        &recipe,
        &tuned,
        quiet(false),
    )
    .unwrap();
    let err = train_fp_from(&tuned, &corpus, &recipe, &out, quiet(false)).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    // Nothing was trained into `out` by the refused calls.
    assert!(!out.model_file().exists());
    assert!(load_fp(run).is_ok());
}

/// `--continue-plateau`: a warm start that begins the plateau rule at a best validation
/// perplexity divides the learning rate after a first epoch that does not beat it; without
/// one, the first epoch is the best so far and keeps the rate.
#[test]
fn continued_plateau_divides_the_rate_when_the_best_is_not_beaten() {
    let _turn = serial();
    let (run, history) = trained_fp_run();
    let corpus = tiny_corpus();
    let recipe = tiny_recipe(1);
    let best = history
        .iter()
        .map(|e| e.valid_ppl)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best_valid_of(run).unwrap(), best);

    let fresh = RunDir::new(scratch("plateau-fresh"));
    let plain = train_fp_from(run, &corpus, &recipe, &fresh, quiet(false)).unwrap();
    assert!(plain.history[0].best);
    assert_eq!(plain.history[0].next_lr, recipe.lr);

    // No model reaches perplexity 1: the first epoch cannot beat it.
    let continued_dir = RunDir::new(scratch("plateau-continued"));
    let options = FitOptions {
        plateau_best: Some(1.0),
        ..quiet(false)
    };
    let continued = train_fp_from(run, &corpus, &recipe, &continued_dir, options).unwrap();
    let first = &continued.history[0];
    assert!(!first.best, "{first:?}");
    assert_eq!(first.next_lr, recipe.lr / recipe.lr_decay);
    // The epoch trained the same model either way; only the schedule differs.
    assert_eq!(first.valid_ppl, plain.history[0].valid_ppl);

    for bad in [0.5, f64::NAN, f64::INFINITY] {
        let options = FitOptions {
            plateau_best: Some(bad),
            ..quiet(false)
        };
        let out = RunDir::new(scratch("plateau-bad"));
        let err = train_fp_from(run, &corpus, &recipe, &out, options).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{bad}: {err}");
    }
    // A directory without a history has nothing to continue.
    let empty = RunDir::new(scratch("plateau-empty"));
    let err = best_valid_of(&empty).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
}
