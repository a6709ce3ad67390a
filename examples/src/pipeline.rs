//! The steps the commands are made of: train a full-precision model, convert and
//! fine-tune it quantized, load what a run directory holds, evaluate every form of a model.

use std::path::Path;

use burn::module::Module;
use burn::prelude::*;

use crate::data::{EncodedCorpus, Split, Streams, Vocabulary};
use crate::error::{Error, Result};
use crate::eval::{Perplexity, evaluate, evaluate_packed};
use crate::model::{FpLanguageModel, LmConfig, PackedLanguageModel, QuantLanguageModel, QuantSpec};
use crate::train::{
    FINETUNE_SETUP_FILE, FinetuneSetup, FitOptions, FitOutcome, RunDir, Stage, TrainConfig,
    WARM_START_FILE, WarmStart, check_dropout, check_shadow_clip, clamp_shadow_weights, fit,
};

/// The CPU device every model lives on (Flex; the learner adds autodiff for training).
pub fn device() -> Device {
    Device::flex()
}

/// Trains a fresh full-precision model of architecture `lm` (or resumes the run),
/// writing `lm.json` and `vocab.txt` into the run directory first.
pub fn train_fp(
    corpus: &EncodedCorpus,
    lm: &LmConfig,
    cfg: &TrainConfig,
    run: &RunDir,
    options: FitOptions,
) -> Result<FitOutcome<FpLanguageModel>> {
    corpus
        .vocab
        .check_size(lm.vocab_size, "the corpus vocabulary")?;
    run.create()?;
    let init_file = run.file(WARM_START_FILE);
    if options.resume {
        check_same_setup(run, lm, &corpus.vocab)?;
        if let Some(init) = run.optional_config::<WarmStart>(WARM_START_FILE)? {
            return Err(Error::Checkpoint {
                path: init_file,
                reason: format!(
                    "the run started from {}; resume it with --init-from {}",
                    init.source, init.source
                ),
            });
        }
    } else if init_file.is_file() {
        // A fresh start in a directory that held a warm-started run: it is no longer one.
        std::fs::remove_file(&init_file).map_err(|e| Error::io(&init_file, e))?;
    }
    run.save_config("lm.json", lm)?;
    corpus.vocab.save(&run.file("vocab.txt"))?;
    let device = device();
    device.seed(cfg.seed);
    let model = lm.init_fp(&device)?;
    fit(model, corpus, cfg, run, Stage::FullPrecision, options)
}

/// Trains the full-precision model of `base` (a run or a `ptb export` directory) further in
/// the new run `run`: a warm start, with the base's architecture and vocabulary and the
/// recipe `cfg` from its first epoch (learning rate `cfg.lr`; SGD keeps no other state).
/// The run records the base in `init.json`; resuming it needs the same `base`. Epochs are
/// numbered from 1 in `run`, and the dropout stream continues the base's
/// ([`Stage::WarmStart`]), so the first epoch does not replay the base's first masks.
///
/// Errors: `base` not a full-precision model directory ([`Error::Checkpoint`]), a corpus
/// with another vocabulary ([`Error::VocabularyMismatch`]), `run` equal to `base`
/// ([`Error::InvalidArgument`]), resuming with another base ([`Error::Checkpoint`]), and
/// those of training.
pub fn train_fp_from(
    base: &RunDir,
    corpus: &EncodedCorpus,
    cfg: &TrainConfig,
    run: &RunDir,
    options: FitOptions,
) -> Result<FitOutcome<FpLanguageModel>> {
    if base.path() == run.path() {
        return Err(Error::InvalidArgument(format!(
            "{} cannot start from itself; continue a run with --resume",
            run.path().display()
        )));
    }
    if base.quant_spec()?.is_some() {
        return Err(Error::Checkpoint {
            path: base.file("quant.json"),
            reason: "a fine-tuned (quantized) model cannot start full-precision training".into(),
        });
    }
    let (lm, vocab, model) = load_fp(base)?;
    if corpus.vocab != vocab {
        return Err(Error::VocabularyMismatch {
            what: "the corpus vocabulary (encode the data with the base's vocab.txt)".into(),
            expected: vocab.len(),
            found: corpus.vocab.len(),
        });
    }
    let base_epochs = epochs_behind(base)?;
    let init = WarmStart::new(base.path().display().to_string(), base_epochs);
    run.create()?;
    if options.resume {
        check_same_setup(run, &lm, &vocab)?;
        match run.optional_config::<WarmStart>(WARM_START_FILE)? {
            Some(old) if old == init => {}
            old => {
                return Err(Error::Checkpoint {
                    path: run.file(WARM_START_FILE),
                    reason: match old {
                        Some(old) => format!(
                            "the run started from {} after {} epochs, not from {} after {}",
                            old.source, old.base_epochs, init.source, init.base_epochs
                        ),
                        None => "the run was not started with --init-from".into(),
                    },
                });
            }
        }
    }
    run.save_config("lm.json", &lm)?;
    run.save_config(WARM_START_FILE, &init)?;
    vocab.save(&run.file("vocab.txt"))?;
    fit(
        model,
        corpus,
        cfg,
        run,
        Stage::WarmStart { base_epochs },
        options,
    )
}

/// The best validation perplexity in the history of the run (or export) `dir`: where a warm
/// start from it begins the plateau rule to continue its schedule
/// ([`FitOptions::plateau_best`]).
///
/// Errors: [`Error::Checkpoint`] when `dir` has no epoch with a finite validation perplexity
/// (or no readable `history.json`).
pub fn best_valid_of(dir: &RunDir) -> Result<f64> {
    crate::train::best_valid(&dir.history()?).ok_or_else(|| Error::Checkpoint {
        path: dir.file("history.json"),
        reason: "no epoch with a validation perplexity to continue the schedule from".into(),
    })
}

/// The epochs of full-precision training behind the model of `dir`: its own (the last epoch
/// of its `history.json`) and, when it was itself warm-started, those behind its base. A
/// chain of warm starts thus draws the dropout masks of one run resumed at the same epochs.
fn epochs_behind(dir: &RunDir) -> Result<usize> {
    let own = dir.history()?.last().map_or(0, |e| e.epoch);
    let inherited = dir
        .optional_config::<WarmStart>(WARM_START_FILE)?
        .map_or(0, |init| init.base_epochs);
    Ok(own + inherited)
}

/// Converts the trained model of `from` to the quantized layers of `spec` and fine-tunes it.
/// With `options.shadow_clip = Some(c)` the shadow weights are clamped to `[−c, c]` at the
/// conversion and after every step (the paper: `c = 1`). `corpus` must be encoded with
/// `from`'s vocabulary.
///
/// Errors: a clip bound that is not finite and positive ([`Error::InvalidArgument`]), and
/// those of loading, converting and training.
pub fn finetune(
    from: &RunDir,
    corpus: &EncodedCorpus,
    spec: &QuantSpec,
    cfg: &TrainConfig,
    run: &RunDir,
    options: FitOptions,
) -> Result<FitOutcome<QuantLanguageModel>> {
    check_shadow_clip(options.shadow_clip)?;
    check_dropout(options.dropout)?;
    let (lm, vocab, fp) = load_fp(from)?;
    if corpus.vocab != vocab {
        return Err(Error::VocabularyMismatch {
            what: "the corpus vocabulary (encode the data with the run's vocab.txt)".into(),
            expected: vocab.len(),
            found: corpus.vocab.len(),
        });
    }
    run.create()?;
    let setup = FinetuneSetup::new()
        .with_shadow_clip(options.shadow_clip)
        .with_dropout(options.dropout);
    if options.resume {
        check_same_setup(run, &lm, &vocab)?;
        check_same_finetuning(run, spec, &setup)?;
    }
    run.save_config("lm.json", &lm)?;
    run.save_config("quant.json", spec)?;
    run.save_config(FINETUNE_SETUP_FILE, &setup)?;
    vocab.save(&run.file("vocab.txt"))?;
    let mut model = QuantLanguageModel::from_fp(&fp, spec)?;
    if let Some(p) = options.dropout {
        model = model.with_dropout(p);
    }
    let model = clamp_shadow_weights(model, options.shadow_clip);
    fit(model, corpus, cfg, run, Stage::FineTuning, options)
}

/// A resumed fine-tuning run must keep its quantization and its shadow clamp; resuming
/// with other flags would silently train a different model from the checkpoint. Runs
/// written before `finetune.json` existed have no recorded clamp and are not checked for it.
fn check_same_finetuning(run: &RunDir, spec: &QuantSpec, setup: &FinetuneSetup) -> Result<()> {
    check_recorded(run, "quant.json", spec, "; resume with its bits and method")?;
    if let Some(old) = run.optional_config::<FinetuneSetup>(FINETUNE_SETUP_FILE)?
        && &old != setup
    {
        return Err(Error::Checkpoint {
            path: run.file(FINETUNE_SETUP_FILE),
            reason: format!(
                "the run was started with {}, not {}; resume with the same flags",
                old.flags(),
                setup.flags()
            ),
        });
    }
    Ok(())
}

/// Fails with [`Error::Checkpoint`] when `DIR/name` records a config other than `new`
/// (`hint` is appended to the reason); a missing file passes.
fn check_recorded<C: Config + PartialEq + std::fmt::Debug>(
    run: &RunDir,
    name: &str,
    new: &C,
    hint: &str,
) -> Result<()> {
    match run.optional_config::<C>(name)? {
        Some(old) if &old != new => Err(Error::Checkpoint {
            path: run.file(name),
            reason: format!("the run was started with {old:?}, not {new:?}{hint}"),
        }),
        _ => Ok(()),
    }
}

/// A resumed run must keep its architecture and vocabulary.
fn check_same_setup(run: &RunDir, lm: &LmConfig, vocab: &Vocabulary) -> Result<()> {
    check_recorded(run, "lm.json", lm, "")?;
    if run.file("vocab.txt").is_file() {
        let old = Vocabulary::load(&run.file("vocab.txt"))?;
        if &old != vocab {
            return Err(Error::VocabularyMismatch {
                what: format!(
                    "{} (the run's vocabulary differs)",
                    run.file("vocab.txt").display()
                ),
                expected: old.len(),
                found: vocab.len(),
            });
        }
    }
    Ok(())
}

/// The architecture, vocabulary and best model of a full-precision run.
pub fn load_fp(run: &RunDir) -> Result<(LmConfig, Vocabulary, FpLanguageModel)> {
    run.require_exists()?;
    let lm = run.lm_config()?;
    let vocab = run.vocab(&lm)?;
    let model = RunDir::load_module(&run.model_file(), lm.init_fp(&device())?)?;
    Ok((lm, vocab, model))
}

/// The architecture, quantization, vocabulary and best model of a fine-tuned run.
pub fn load_quant(run: &RunDir) -> Result<(LmConfig, QuantSpec, Vocabulary, QuantLanguageModel)> {
    run.require_exists()?;
    let lm = run.lm_config()?;
    let spec = run.quant_spec()?.ok_or_else(|| Error::Checkpoint {
        path: run.path().to_path_buf(),
        reason: "not a fine-tuned run (no quant.json); use a `ptb finetune` output directory"
            .into(),
    })?;
    let vocab = run.vocab(&lm)?;
    let model = RunDir::load_module(&run.model_file(), lm.init_quant(&spec, &device())?)?;
    Ok((lm, spec, vocab, model))
}

/// Perplexity of a tensor model on a split (streams of `eval_batch`, windows of `bptt`).
pub fn split_perplexity<M: crate::model::LmForward>(
    model: &M,
    corpus: &EncodedCorpus,
    split: Split,
    eval_batch: usize,
    bptt: usize,
) -> Result<Perplexity> {
    let streams = Streams::new(corpus.split(split), eval_batch)?;
    evaluate(model, &streams, bptt, &device())
}

/// Perplexity of a packed model on a split.
pub fn packed_perplexity(
    model: &mut PackedLanguageModel,
    corpus: &EncodedCorpus,
    split: Split,
    eval_batch: usize,
) -> Result<Perplexity> {
    let streams = Streams::new(corpus.split(split), eval_batch)?;
    evaluate_packed(model, &streams)
}

/// Relative difference `|a − b| / b`.
pub fn relative_gap(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// The largest relative gap between packed and fake-quantized perplexity the issue allows.
pub const PACKED_TOLERANCE: f64 = 0.005;

/// Number of f32 parameters of a module.
pub fn f32_bytes<M: Module>(model: &M) -> usize {
    4 * model.num_params()
}

/// Reads the corpus of `dir` and encodes it with `vocab` (the vocabulary of a run).
pub fn encode_dir(dir: &Path, vocab: Vocabulary) -> Result<EncodedCorpus> {
    EncodedCorpus::encode(&crate::data::CorpusText::read_dir(dir)?, vocab)
}
