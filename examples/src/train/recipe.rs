//! The training recipe (the paper's, with switches to cut runs short).

use burn::config::Config;

use crate::error as ex;

/// Hyper-parameters of `train` and `finetune`. Defaults are the paper's recipe: SGD with
/// learning rate 20, divided by 1.2 whenever the validation perplexity is worse than the best
/// so far, stop below 1e-3; gradients clipped to a global norm of 0.25; BPTT 30; batch 20.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Initial learning rate.
    #[config(default = 20.0)]
    pub lr: f64,
    /// Divisor applied to the learning rate when validation gets worse.
    #[config(default = 1.2)]
    pub lr_decay: f64,
    /// Training stops when the learning rate falls below this.
    #[config(default = 1e-3)]
    pub min_lr: f64,
    /// Global gradient-norm clip; 0 disables clipping.
    #[config(default = 0.25)]
    pub grad_clip: f32,
    /// Truncated back-propagation length (time steps per window).
    #[config(default = 30)]
    pub bptt: usize,
    /// Parallel training streams (the batch size).
    #[config(default = 20)]
    pub batch: usize,
    /// Parallel streams for validation and test perplexity.
    #[config(default = 10)]
    pub eval_batch: usize,
    /// Maximum number of epochs (the paper: at most 80).
    #[config(default = 40)]
    pub epochs: usize,
    /// Cap on training steps (windows) per epoch; `None` runs whole epochs.
    #[config(default = "None")]
    pub max_steps: Option<usize>,
    /// Fraction of each epoch's training windows used (the first ones), in `(0, 1]`.
    #[config(default = 1.0)]
    pub train_fraction: f64,
    /// A progress line every this many steps (0: only epoch lines).
    #[config(default = 100)]
    pub log_every: usize,
    /// Seed of the device RNG (initialisation and dropout).
    #[config(default = 1)]
    pub seed: u64,
    /// On resume, continue at this learning rate instead of the checkpoint's (a manual
    /// decay step). `None` continues the saved schedule.
    #[config(default = "None")]
    pub restart_lr: Option<f64>,
}

impl TrainConfig {
    /// The device RNG seed for a run of `stage` that starts after `epochs_done` finished
    /// epochs: `seed` for a fresh full-precision run, a different value for every resume
    /// point and for every fine-tuning epoch. Reseeding a resumed run with `seed` itself
    /// would replay the dropout masks of epochs it has already trained on the same
    /// windows; so would a fine-tuning run seeded like the run it starts from (its epoch
    /// `e` would draw the base's epoch-`e` masks).
    pub fn seed_after(&self, stage: Stage, epochs_done: usize) -> u64 {
        // An odd multiplier is a bijection modulo 2^64, so distinct (stage, epoch) indices
        // give distinct seeds; fine-tuning epochs are indexed from 2^32 on.
        let index = stage.first_index().wrapping_add(epochs_done as u64);
        self.seed
            .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Rejects values the run cannot use.
    pub fn validate(&self) -> ex::Result<()> {
        let bad = |what: String| Err(ex::Error::InvalidArgument(what));
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!("learning rate must be positive, got {}", self.lr));
        }
        if let Some(lr) = self.restart_lr
            && !(lr > 0.0 && lr.is_finite())
        {
            return bad(format!("restart learning rate must be positive, got {lr}"));
        }
        if self.lr_decay.is_nan() || self.lr_decay < 1.0 {
            return bad(format!(
                "lr decay must be at least 1, got {}",
                self.lr_decay
            ));
        }
        if self.grad_clip.is_nan() || self.grad_clip < 0.0 {
            return bad(format!(
                "gradient clip must be >= 0, got {}",
                self.grad_clip
            ));
        }
        if self.bptt == 0 || self.batch == 0 || self.eval_batch == 0 {
            return bad("bptt, batch and eval batch must be at least 1".into());
        }
        if self.epochs == 0 {
            return bad("at least one epoch is needed".into());
        }
        if self.max_steps == Some(0) {
            return bad("--max-steps must be at least 1".into());
        }
        if !(self.train_fraction > 0.0 && self.train_fraction <= 1.0) {
            return bad(format!(
                "train fraction must be in (0, 1], got {}",
                self.train_fraction
            ));
        }
        Ok(())
    }

    /// Training windows per epoch out of `available`.
    pub fn windows_per_epoch(&self, available: usize) -> usize {
        let by_fraction = ((available as f64) * self.train_fraction).ceil() as usize;
        let windows = by_fraction.clamp(1, available.max(1));
        self.max_steps.map_or(windows, |m| windows.min(m))
    }
}

/// Which kind of run draws from the device RNG: fine-tuning must not replay the dropout
/// masks of the full-precision run it starts from (see [`TrainConfig::seed_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Full-precision training (`ptb train`).
    FullPrecision,
    /// Quantization-aware fine-tuning from a trained model (`ptb finetune`).
    FineTuning,
    /// Full-precision training that starts from the weights of a model trained for
    /// `base_epochs` epochs (`ptb train --init-from`). It continues the base run's stream,
    /// as resuming the base itself would: its first epoch draws the masks the base's epoch
    /// `base_epochs + 1` would have drawn, not those of the base's epoch 1 again.
    WarmStart {
        /// Epochs the base model had finished.
        base_epochs: usize,
    },
}

impl Stage {
    fn first_index(self) -> u64 {
        match self {
            Stage::FullPrecision => 0,
            Stage::FineTuning => 1 << 32,
            Stage::WarmStart { base_epochs } => base_epochs as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn resumed_runs_get_fresh_seeds() {
        let cfg = TrainConfig::new().with_seed(7);
        assert_eq!(cfg.seed_after(Stage::FullPrecision, 0), 7);
        let seeds: HashSet<u64> = (0..100)
            .map(|e| cfg.seed_after(Stage::FullPrecision, e))
            .collect();
        assert_eq!(seeds.len(), 100);
        assert_ne!(
            TrainConfig::new()
                .with_seed(8)
                .seed_after(Stage::FullPrecision, 3),
            cfg.seed_after(Stage::FullPrecision, 3)
        );
    }

    #[test]
    fn fine_tuning_never_reuses_a_full_precision_seed() {
        let cfg = TrainConfig::new();
        let stage_seeds =
            |stage| -> HashSet<u64> { (0..1000).map(|e| cfg.seed_after(stage, e)).collect() };
        let fp = stage_seeds(Stage::FullPrecision);
        let ft = stage_seeds(Stage::FineTuning);
        assert_eq!(ft.len(), 1000);
        assert!(fp.is_disjoint(&ft));
        // The seed the same config's first training epoch used is not the first
        // fine-tuning epoch's: the masks of the base's epoch 1 are not replayed.
        assert_ne!(
            cfg.seed_after(Stage::FineTuning, 0),
            cfg.seed_after(Stage::FullPrecision, 0)
        );
    }

    #[test]
    fn a_warm_start_continues_its_base_stream() {
        let cfg = TrainConfig::new().with_seed(3);
        let warm = Stage::WarmStart { base_epochs: 10 };
        for done in 0..5 {
            assert_eq!(
                cfg.seed_after(warm, done),
                cfg.seed_after(Stage::FullPrecision, 10 + done)
            );
        }
        assert_ne!(
            cfg.seed_after(warm, 0),
            cfg.seed_after(Stage::FullPrecision, 0)
        );
    }
}
