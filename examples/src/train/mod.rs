//! Training and fine-tuning with Burn's `SupervisedTraining` / `Learner`.
//!
//! How the paper's recipe maps onto the stock learner (one launch for the whole run):
//! - **BPTT with the hidden state carried across windows**: every window is one dataset item
//!   (`[streams, bptt]`, data loader batch size 1, no shuffling); the model's steps keep the
//!   final state of each window in the shared [`Monitor`] and start the next window of the
//!   same split from it (detached), starting from zeros at window 0. This relies on the
//!   single-device learner running steps in order, which it does.
//! - **Learning rate ÷ 1.2 when validation gets worse**: Burn's schedulers see only step
//!   counts, so [`PlateauLr`] reads the rate the monitor sets at the end of each validation
//!   pass; it is saved with every checkpoint.
//! - **Global gradient-norm clip 0.25 and shadow-weight clipping to [−1, 1]**: in
//!   `TrainStep::optimize`, Burn's hook around the optimizer step.
//! - **Checkpoints and resume**: Burn's default checkpointers (every epoch; last two kept
//!   plus the best validation loss); `--resume` restarts after the last one.

mod clip;
mod monitor;
mod recipe;
mod renderer;
mod run_dir;
mod scheduler;
mod setup;
mod trainable;

use std::sync::Arc;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::{Module, ModuleDisplay};
use burn::optim::SgdConfig;
use burn::prelude::*;
use burn::train::metric::{LossMetric, PerplexityMetric};
use burn::train::{Learner, SupervisedTraining};

pub use clip::{clip_grad_norm, grad_norm};
pub use monitor::{EpochSummary, Monitor, MonitorSettings, best_valid, format_seconds};
pub use recipe::{Stage, TrainConfig};
pub use renderer::QuietRenderer;
pub use run_dir::RunDir;
pub use scheduler::PlateauLr;
pub use setup::{FINETUNE_SETUP_FILE, FinetuneSetup, WARM_START_FILE, WarmStart};
pub use trainable::Trainable;

use crate::data::{BpttBatcher, BpttDataset, EncodedCorpus, Split, Streams};
use crate::error::{Error, Result};
use crate::model::LmForward;

/// Switches of one call to [`fit`].
#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    /// Clamp the quantized layers' shadow weights to `[−c, c]` after every step (the
    /// paper: `Some(1.0)`); `None` leaves them free. Full-precision training ignores it.
    pub shadow_clip: Option<f32>,
    /// Fine-tuning only: the dropout probability of the quantized model, in `[0, 1)`;
    /// `None` keeps the base model's. Full-precision training ignores it (its dropout is
    /// the architecture's, [`crate::model::LmConfig::dropout`]).
    pub dropout: Option<f64>,
    /// Continue after the last checkpoint in the run directory.
    pub resume: bool,
    /// A fresh run only: the best validation perplexity the plateau rule starts from, as if
    /// the run continued one that had reached it (`ptb train --init-from DIR
    /// --continue-plateau`: the base's best). An epoch that does not beat it divides the
    /// learning rate. `None`: the first epoch sets the best. Ignored when resuming (the
    /// checkpoint holds the schedule).
    pub plateau_best: Option<f64>,
    /// Print progress and epoch lines to stdout (they always go to `train.log`).
    pub echo: bool,
}

/// Checks a fine-tuning dropout probability: it must lie in `[0, 1)`.
///
/// Errors: [`Error::InvalidArgument`] for anything else (NaN included).
pub fn check_dropout(dropout: Option<f64>) -> Result<()> {
    match dropout {
        Some(p) if !(0.0..1.0).contains(&p) => Err(Error::InvalidArgument(format!(
            "dropout must be in [0, 1), not {p}"
        ))),
        _ => Ok(()),
    }
}

/// Checks a shadow-weight clip bound: it must be finite and positive.
///
/// Errors: [`Error::InvalidArgument`] for anything else.
pub fn check_shadow_clip(bound: Option<f32>) -> Result<()> {
    match bound {
        Some(c) if !(c.is_finite() && c > 0.0) => Err(Error::InvalidArgument(format!(
            "the shadow-weight clip bound must be finite and positive, not {c}"
        ))),
        _ => Ok(()),
    }
}

/// Clamps the quantized layers' shadow weights of `model` to `[−c, c]` for `Some(c)`;
/// `None` returns it unchanged. Full-precision layers are never touched.
pub fn clamp_shadow_weights<M: Module>(model: M, bound: Option<f32>) -> M {
    match bound {
        Some(c) => model.map(&mut burn_amq::ClipWeights::new(-c, c)),
        None => model,
    }
}

/// What [`fit`] returns.
#[derive(Debug)]
pub struct FitOutcome<M> {
    /// The model of the best validation epoch (the last epoch if none was recorded), on
    /// the plain device, also saved as `DIR/model.bpk`.
    pub model: M,
    /// All finished epochs of the run (including those before a resume).
    pub history: Vec<EpochSummary>,
    /// The epoch `model` comes from.
    pub best_epoch: Option<usize>,
    /// Why training stopped early, if it did (e.g. the learning rate reached its minimum).
    pub stopped: Option<String>,
}

/// Trains `model` on `corpus` with the recipe `cfg`, writing checkpoints, logs and the best
/// model into `run` (see [`RunDir`]). `stage` picks the dropout stream
/// ([`TrainConfig::seed_after`]), so fine-tuning does not replay its base run's masks.
/// The model's device must be a Flex device (autodiff is added by the learner).
///
/// Errors: invalid recipe, too little data, an unreadable or mismatched checkpoint when
/// resuming, an error inside the learner, unwritable files.
pub fn fit<M>(
    model: M,
    corpus: &EncodedCorpus,
    cfg: &TrainConfig,
    run: &RunDir,
    stage: Stage,
    options: FitOptions,
) -> Result<FitOutcome<M>>
where
    M: Module + ModuleDisplay + LmForward + 'static,
{
    cfg.validate()?;
    check_shadow_clip(options.shadow_clip)?;
    run.create()?;
    run.save_config("train.json", cfg)?;
    let train_streams = Arc::new(Streams::new(&corpus.train, cfg.batch)?);
    let valid_streams = Arc::new(Streams::new(&corpus.valid, cfg.eval_batch)?);
    let train_all = BpttDataset::new(train_streams, cfg.bptt)?;
    let train_windows = cfg.windows_per_epoch(train_all.len_windows());
    let train_data = train_all.truncated(train_windows);
    let valid_data = BpttDataset::new(valid_streams, cfg.bptt)?;
    let valid_windows = valid_data.len_windows();

    let (history, start_epoch) = if options.resume {
        let epoch = run.latest_checkpoint().ok_or_else(|| Error::Checkpoint {
            path: run.checkpoint_dir(),
            reason: "no checkpoint to resume from".into(),
        })?;
        let history: Vec<_> = run
            .history()?
            .into_iter()
            .filter(|e| e.epoch <= epoch)
            .collect();
        (history, Some(epoch))
    } else {
        (Vec::new(), None)
    };
    if let Some(best) = options.plateau_best
        && !(best.is_finite() && best >= 1.0)
    {
        return Err(Error::InvalidArgument(format!(
            "a starting best validation perplexity must be finite and at least 1, not {best}"
        )));
    }
    // A resumed run's schedule comes from its checkpoint instead.
    let plateau_best = options.plateau_best.filter(|_| !options.resume);
    if cfg.restart_lr.is_some() && !options.resume {
        return Err(Error::InvalidArgument(
            "a restart learning rate applies to a resumed run only".into(),
        ));
    }
    let saved_lr = history.last().map_or(cfg.lr, |e| e.next_lr);
    let lr = cfg.restart_lr.unwrap_or(saved_lr);
    let monitor = Monitor::new(
        MonitorSettings {
            grad_clip: (cfg.grad_clip > 0.0).then_some(cfg.grad_clip),
            shadow_clip: options.shadow_clip,
            lr_decay: cfg.lr_decay,
            min_lr: cfg.min_lr,
            log_every: cfg.log_every,
            train_windows,
            valid_windows,
            log_file: Some(run.file("train.log")),
            history_file: Some(run.file("history.json")),
            echo: options.echo,
        },
        lr,
        history,
    );
    if plateau_best.is_some() {
        monitor.restore_schedule(lr, plateau_best);
    }
    if let Some(epoch) = start_epoch {
        // Checkpoints hold the wrapped model (parameters under `model.`).
        run.check_checkpoint(epoch, Trainable::new(model.clone(), monitor.clone()))?;
    }
    if let Some(done) = start_epoch
        && done >= cfg.epochs
    {
        return Err(Error::InvalidArgument(format!(
            "the run already finished epoch {done}; raise --epochs to continue"
        )));
    }
    let plateau = plateau_best.map_or(String::new(), |best| format!(" | best so far {best:.2}"));
    monitor.log(&format!(
        "{} {} | {train_windows} training windows of {}x{} per epoch, {valid_windows} validation windows | lr {lr}{plateau}",
        if start_epoch.is_some() { "resuming" } else { "starting" },
        run.path().display(),
        cfg.batch,
        cfg.bptt,
    ));

    // Parameters made on the plain device remember that they require gradients;
    // `Module::train` moves them to the autodiff device where that takes effect.
    let model = model.train();
    let device = model
        .devices()
        .first()
        .cloned()
        .unwrap_or_else(Device::flex);
    device.seed(cfg.seed_after(stage, start_epoch.unwrap_or(0)));
    let loader_train = DataLoaderBuilder::new(BpttBatcher::new(Split::Train))
        .batch_size(1)
        .set_device(device.clone())
        .build(train_data);
    let loader_valid = DataLoaderBuilder::new(BpttBatcher::new(Split::Valid))
        .batch_size(1)
        .set_device(device.clone())
        .build(valid_data);

    let mut training = SupervisedTraining::new(run.path(), loader_train, loader_valid)
        // Training perplexity comes from the loss the steps report to the monitor; Burn's
        // perplexity metric recomputes a log-softmax over the vocabulary per batch, which is
        // worth paying only on the (smaller) validation split.
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .metric_valid_numeric(PerplexityMetric::new())
        .renderer(Box::new(QuietRenderer))
        .with_application_logger(None)
        .with_default_checkpointers()
        .num_epochs(cfg.epochs);
    if let Some(epoch) = start_epoch {
        training = training.checkpoint(epoch);
    }
    monitor.set_interrupter(training.interrupter());
    let learner = Learner::new(
        Trainable::new(model.clone(), monitor.clone()),
        SgdConfig::new().init(),
        PlateauLr::new(monitor.clone(), cfg.restart_lr),
    );
    let result = training.launch(learner);
    if let Some(error) = result.error {
        return Err(Error::Training(error.to_string()));
    }
    if let Some(error) = monitor.io_error() {
        return Err(Error::Training(format!(
            "could not write the run log: {error}"
        )));
    }
    let stopped = result
        .interrupted
        .map(|i| i.reason.unwrap_or_else(|| "interrupted".into()));
    let history = monitor.history();
    let best_epoch = history
        .iter()
        .filter(|e| e.valid_ppl.is_finite())
        .min_by(|a, b| a.valid_ppl.total_cmp(&b.valid_ppl))
        .map(|e| e.epoch);
    let last = result.model.model;
    let best = match best_epoch {
        Some(epoch) if Some(epoch) != history.last().map(|e| e.epoch) => {
            let path = run.checkpoint_dir().join(format!("model-{epoch}.bpk"));
            let wrapped = Trainable::new(model, monitor.clone());
            RunDir::load_module(&path, wrapped)?.model.valid()
        }
        _ => last,
    };
    RunDir::save_module(&run.model_file(), best.clone())?;
    Ok(FitOutcome {
        model: best,
        history,
        best_epoch,
        stopped,
    })
}
