//! Shared state between the model's training/inference steps, the learning-rate schedule
//! and the log: carried hidden states, per-epoch loss sums, the plateau rule.
//!
//! Burn's `Learner` calls the steps of one model in order on one thread (single device, data
//! loader without shuffling), and hands the learning-rate scheduler no validation result. The
//! monitor bridges both: the steps record their losses here, the end of the validation split
//! closes the epoch (log line, history, plateau rule), and the scheduler reads the learning
//! rate back before the next optimizer step.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use burn::train::Interrupter;
use serde::{Deserialize, Serialize};

use crate::data::Split;
use crate::model::RnnState;

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Training perplexity (with dropout, running average over the epoch).
    pub train_ppl: f64,
    /// Validation perplexity.
    pub valid_ppl: f64,
    /// Learning rate used during the epoch.
    pub lr: f64,
    /// Learning rate for the next epoch (divided by the decay when validation got worse).
    pub next_lr: f64,
    /// Training steps (BPTT windows) in the epoch.
    pub steps: usize,
    /// Wall time of training and validation, seconds.
    pub seconds: f64,
    /// Mean wall time of a training step, milliseconds (validation excluded).
    pub ms_per_step: f64,
    /// Whether the validation perplexity was the best so far.
    pub best: bool,
}

/// Fixed settings of a monitored run.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// Global gradient-norm clip applied before every optimizer step (`None`: no clipping).
    pub grad_clip: Option<f32>,
    /// Clamp the quantized layers' shadow weights to `[−c, c]` after every optimizer step
    /// (`None`: no clamping).
    pub shadow_clip: Option<f32>,
    /// The learning rate is divided by this when validation perplexity does not improve.
    pub lr_decay: f64,
    /// Training stops once the learning rate falls below this.
    pub min_lr: f64,
    /// Print (and log) a progress line every this many training steps (0: never).
    pub log_every: usize,
    /// Training windows per epoch.
    pub train_windows: usize,
    /// Validation windows per epoch (the last one closes the epoch).
    pub valid_windows: usize,
    /// Log file the progress and epoch lines are appended to.
    pub log_file: Option<PathBuf>,
    /// Where the epoch history is rewritten after every epoch (JSON).
    pub history_file: Option<PathBuf>,
    /// Also print the lines to stdout.
    pub echo: bool,
}

#[derive(Debug, Default)]
struct Accum {
    nll_sum: f64,
    tokens: usize,
    steps: usize,
    busy_seconds: f64,
}

#[derive(Debug)]
struct State {
    settings: MonitorSettings,
    lr: f64,
    epoch_lr: f64,
    best_valid: Option<f64>,
    epoch: usize,
    epoch_started: Option<Instant>,
    last_step: Option<Instant>,
    /// When the monitor was created (the time stamp of every line).
    created: Instant,
    carried: [Option<RnnState>; 3],
    train: Accum,
    valid: Accum,
    history: Vec<EpochSummary>,
    interrupter: Option<StopHandle>,
    io_error: Option<String>,
}

/// Burn's `Interrupter` (which has no `Debug`).
#[derive(Clone)]
struct StopHandle(Interrupter);

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Interrupter")
    }
}

/// Cheaply cloneable handle to the shared state (every clone sees the same state).
#[derive(Debug, Clone)]
pub struct Monitor {
    state: Arc<Mutex<State>>,
}

fn slot(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Valid => 1,
        Split::Test => 2,
    }
}

/// The lowest finite validation perplexity of `history`, if any: the plateau rule's best so far.
pub fn best_valid(history: &[EpochSummary]) -> Option<f64> {
    history
        .iter()
        .map(|e| e.valid_ppl)
        .filter(|v| v.is_finite())
        .reduce(f64::min)
}

impl Monitor {
    /// A monitor starting at learning rate `lr` after the epochs in `history` (empty for a
    /// fresh run; the best validation perplexity is taken from it).
    pub fn new(settings: MonitorSettings, lr: f64, history: Vec<EpochSummary>) -> Self {
        let best_valid = best_valid(&history);
        let epoch = history.last().map_or(0, |e| e.epoch);
        Self {
            state: Arc::new(Mutex::new(State {
                settings,
                lr,
                epoch_lr: lr,
                best_valid,
                epoch,
                epoch_started: None,
                last_step: None,
                created: Instant::now(),
                carried: [None, None, None],
                train: Accum::default(),
                valid: Accum::default(),
                history,
                interrupter: None,
                io_error: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic inside a step poisons the lock; the state itself stays consistent (every
        // update is a few field writes), so keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets the monitor stop training when the learning rate falls below the minimum.
    pub fn set_interrupter(&self, interrupter: Interrupter) {
        self.lock().interrupter = Some(StopHandle(interrupter));
    }

    /// The learning rate for the next optimizer step.
    pub fn lr(&self) -> f64 {
        self.lock().lr
    }

    /// The best validation perplexity so far.
    pub fn best_valid(&self) -> Option<f64> {
        self.lock().best_valid
    }

    /// Restores the schedule (from a checkpoint of the scheduler).
    pub fn restore_schedule(&self, lr: f64, best_valid: Option<f64>) {
        let mut s = self.lock();
        s.lr = lr;
        s.epoch_lr = lr;
        s.best_valid = best_valid;
    }

    /// Global gradient-norm clip.
    pub fn grad_clip(&self) -> Option<f32> {
        self.lock().settings.grad_clip
    }

    /// The bound shadow weights are clamped to after each step, if any.
    pub fn shadow_clip(&self) -> Option<f32> {
        self.lock().settings.shadow_clip
    }

    /// The finished epochs.
    pub fn history(&self) -> Vec<EpochSummary> {
        self.lock().history.clone()
    }

    /// The first failure to write the log or history file, if any.
    pub fn io_error(&self) -> Option<String> {
        self.lock().io_error.clone()
    }

    /// The state to start window `window` of `split` from: `None` (zeros) for the first
    /// window, else the state the previous window of that split ended in.
    pub fn take_state(&self, split: Split, window: usize) -> Option<RnnState> {
        let mut s = self.lock();
        let carried = s.carried[slot(split)].take();
        if window == 0 { None } else { carried }
    }

    /// Stores the state a window of `split` ended in (already detached).
    pub fn put_state(&self, split: Split, state: RnnState) {
        self.lock().carried[slot(split)] = Some(state);
    }

    /// Records a training step: window index, summed NLL of its predictions, their count
    /// and the wall time of its forward and backward pass. A step's time is the wall time
    /// since the previous step of the epoch (so it includes the optimizer step and the
    /// learner's bookkeeping); the first step of an epoch counts `seconds`.
    pub fn record_train(&self, window: usize, nll_sum: f64, tokens: usize, seconds: f64) {
        let mut s = self.lock();
        let now = Instant::now();
        let mut elapsed = seconds;
        if window == 0 || s.epoch_started.is_none() {
            s.epoch += 1;
            s.epoch_started = Some(now);
            s.epoch_lr = s.lr;
            s.train = Accum::default();
        } else if let Some(last) = s.last_step {
            elapsed = now.duration_since(last).as_secs_f64();
        }
        s.last_step = Some(now);
        let seconds = elapsed;
        s.train.nll_sum += nll_sum;
        s.train.tokens += tokens;
        s.train.steps += 1;
        s.train.busy_seconds += seconds;
        let every = s.settings.log_every;
        if every > 0 && s.train.steps.is_multiple_of(every) {
            let line = s.progress_line();
            s.emit(&line);
        }
    }

    /// Records a validation step; the last validation window closes the epoch.
    pub fn record_valid(&self, window: usize, nll_sum: f64, tokens: usize) {
        let mut s = self.lock();
        if window == 0 {
            s.valid = Accum::default();
        }
        s.valid.nll_sum += nll_sum;
        s.valid.tokens += tokens;
        s.valid.steps += 1;
        if window + 1 >= s.settings.valid_windows {
            s.finish_epoch();
        }
    }

    /// Writes a line to the log (and stdout when echoing).
    pub fn log(&self, line: &str) {
        self.lock().emit(line);
    }
}

fn ppl(nll_sum: f64, tokens: usize) -> f64 {
    if tokens == 0 {
        f64::NAN
    } else {
        (nll_sum / tokens as f64).exp()
    }
}

impl State {
    fn progress_line(&self) -> String {
        let steps = self.train.steps;
        let total = self.settings.train_windows;
        let ms = 1000.0 * self.train.busy_seconds / steps.max(1) as f64;
        let eta = (total.saturating_sub(steps)) as f64 * ms / 1000.0;
        format!(
            "epoch {:>3} | step {steps:>5}/{total} | train ppl {:>9.2} | lr {:.4} | {ms:.0} ms/step | epoch eta {}",
            self.epoch,
            ppl(self.train.nll_sum, self.train.tokens),
            self.lr,
            format_seconds(eta)
        )
    }

    fn finish_epoch(&mut self) {
        let valid_ppl = ppl(self.valid.nll_sum, self.valid.tokens);
        let improved = valid_ppl.is_finite() && self.best_valid.is_none_or(|b| valid_ppl < b);
        if improved {
            self.best_valid = Some(valid_ppl);
        } else {
            self.lr /= self.settings.lr_decay;
        }
        let seconds = self
            .epoch_started
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        let summary = EpochSummary {
            epoch: self.epoch,
            train_ppl: ppl(self.train.nll_sum, self.train.tokens),
            valid_ppl,
            lr: self.epoch_lr,
            next_lr: self.lr,
            steps: self.train.steps,
            seconds,
            ms_per_step: 1000.0 * self.train.busy_seconds / self.train.steps.max(1) as f64,
            best: improved,
        };
        let line = format!(
            "epoch {:>3} done | train ppl {:>9.2} | valid ppl {:>9.2}{} | lr {:.4} -> {:.4} | {} ({:.0} ms/step, {} steps)",
            summary.epoch,
            summary.train_ppl,
            summary.valid_ppl,
            if improved { " (best)" } else { "" },
            summary.lr,
            summary.next_lr,
            format_seconds(seconds),
            summary.ms_per_step,
            summary.steps
        );
        self.history.push(summary);
        self.emit(&line);
        self.write_history();
        if self.lr < self.settings.min_lr
            && let Some(interrupter) = self.interrupter.clone()
        {
            let reason = format!(
                "learning rate {:.2e} fell below the minimum {:.2e}",
                self.lr, self.settings.min_lr
            );
            self.emit(&format!("stopping: {reason}"));
            interrupter.0.stop(Some(&reason));
        }
        self.epoch_started = None;
        self.last_step = None;
    }

    fn emit(&mut self, line: &str) {
        let elapsed = format_seconds(self.created.elapsed().as_secs_f64());
        let line = &format!("[{elapsed:>6}] {line}");
        if self.settings.echo {
            println!("{line}");
        }
        if let Some(path) = &self.settings.log_file {
            let written = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| writeln!(f, "{line}"));
            if let Err(e) = written {
                self.io_error
                    .get_or_insert_with(|| format!("{}: {e}", path.display()));
            }
        }
    }

    fn write_history(&mut self) {
        if let Some(path) = &self.settings.history_file {
            let written = serde_json::to_string_pretty(&self.history)
                .map_err(std::io::Error::other)
                .and_then(|json| std::fs::write(path, json));
            if let Err(e) = written {
                self.io_error
                    .get_or_insert_with(|| format!("{}: {e}", path.display()));
            }
        }
    }
}

/// `"1h02m"`, `"3m05s"` or `"12.3s"`.
pub fn format_seconds(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{seconds:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(valid_windows: usize) -> MonitorSettings {
        MonitorSettings {
            grad_clip: Some(0.25),
            shadow_clip: None,
            lr_decay: 2.0,
            min_lr: 1.0,
            log_every: 0,
            train_windows: 2,
            valid_windows,
            log_file: None,
            history_file: None,
            echo: false,
        }
    }

    fn epoch(m: &Monitor, valid_nll_per_token: f64) {
        m.record_train(0, 10.0, 5, 0.1);
        m.record_train(1, 10.0, 5, 0.1);
        m.record_valid(0, valid_nll_per_token * 4.0, 4);
        m.record_valid(1, valid_nll_per_token * 4.0, 4);
    }

    #[test]
    fn plateau_rule_divides_lr_when_validation_worsens() {
        let m = Monitor::new(settings(2), 8.0, Vec::new());
        epoch(&m, 3.0);
        assert_eq!(m.lr(), 8.0);
        epoch(&m, 2.0); // better
        assert_eq!(m.lr(), 8.0);
        epoch(&m, 2.5); // worse
        assert_eq!(m.lr(), 4.0);
        let h = m.history();
        assert_eq!(h.len(), 3);
        assert_eq!(h.iter().map(|e| e.epoch).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            h.iter().map(|e| e.best).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert!((h[0].train_ppl - 2f64.exp()).abs() < 1e-9);
        assert!((h[1].valid_ppl - 2f64.exp()).abs() < 1e-9);
        assert_eq!((h[2].lr, h[2].next_lr), (8.0, 4.0));
        assert_eq!(m.best_valid(), Some(2f64.exp()));
    }

    #[test]
    fn resumed_history_keeps_epoch_numbers_and_best() {
        let m = Monitor::new(settings(2), 8.0, Vec::new());
        epoch(&m, 2.0);
        let resumed = Monitor::new(settings(2), 8.0, m.history());
        assert_eq!(resumed.best_valid(), m.best_valid());
        epoch(&resumed, 3.0);
        let h = resumed.history();
        assert_eq!(h.last().map(|e| (e.epoch, e.best)), Some((2, false)));
    }

    #[test]
    fn first_window_starts_from_zero_state() {
        let m = Monitor::new(settings(1), 1.0, Vec::new());
        let device = burn::prelude::Device::flex();
        let h = burn::prelude::Tensor::<2>::zeros([2, 3], &device);
        m.put_state(Split::Valid, RnnState::gru(h));
        assert!(m.take_state(Split::Train, 1).is_none()); // other split
        assert!(m.take_state(Split::Valid, 0).is_none()); // fresh start
        m.put_state(
            Split::Valid,
            RnnState::gru(burn::prelude::Tensor::zeros([2, 3], &device)),
        );
        assert!(m.take_state(Split::Valid, 1).is_some());
    }

    #[test]
    fn seconds_format() {
        assert_eq!(format_seconds(12.34), "12.3s");
        assert_eq!(format_seconds(185.0), "3m05s");
        assert_eq!(format_seconds(3720.0), "1h02m");
    }
}
