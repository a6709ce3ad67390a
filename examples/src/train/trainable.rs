//! A language model wrapped for Burn's `Learner`: its training and inference steps.

use std::time::Instant;

use burn::module::{Module, ModuleDisplay};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::train::{InferenceStep, SequenceOutput, TrainOutput, TrainStep};

use super::clamp_shadow_weights;
use super::clip::clip_grad_norm;
use super::monitor::Monitor;
use crate::data::{LmBatch, Split};
use crate::model::LmForward;

/// `model` plus the [`Monitor`] its steps report to. Checkpoints hold `model`'s parameters
/// (under the `model.` prefix); the monitor is not saved.
#[derive(Module, Debug)]
pub struct Trainable<M: Module> {
    /// The language model being trained.
    pub model: M,
    #[module(skip)]
    monitor: Monitor,
}

impl<M: Module + ModuleDisplay + LmForward> Trainable<M> {
    /// Wraps `model`.
    pub fn new(model: M, monitor: Monitor) -> Self {
        Self { model, monitor }
    }

    /// The monitor.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// Forward pass of one window with the carried state; the new state is stored back.
    fn forward_batch(&self, batch: LmBatch) -> (SequenceOutput, f64, usize) {
        let LmBatch {
            inputs,
            targets,
            window,
            split,
        } = batch;
        let state = self.monitor.take_state(split, window);
        let (logits, state) = self.model.forward_window(inputs, state);
        self.monitor.put_state(split, state.detach());
        let [streams, seq, vocab] = logits.dims();
        let tokens = streams * seq;
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(
                logits.clone().reshape([tokens, vocab]),
                targets.clone().reshape([tokens]),
            );
        let mean: f32 = loss.clone().into_scalar();
        let output = SequenceOutput::new(loss, logits, None, targets);
        (output, f64::from(mean) * tokens as f64, tokens)
    }
}

impl<M: Module + ModuleDisplay + LmForward + 'static> TrainStep for Trainable<M> {
    type Input = LmBatch;
    type Output = SequenceOutput;

    fn step(&self, batch: LmBatch) -> TrainOutput<SequenceOutput> {
        let started = Instant::now();
        let window = batch.window;
        let (output, nll_sum, tokens) = self.forward_batch(batch);
        let grads = output.loss.backward();
        self.monitor
            .record_train(window, nll_sum, tokens, started.elapsed().as_secs_f64());
        TrainOutput::new(self, grads, output)
    }

    /// Global gradient-norm clipping, the optimizer step, then (fine-tuning) the shadow
    /// weights clamped to `[−c, c]`. This is the hook Burn's `TrainStep` offers for work
    /// around the optimizer step, so the stock `Learner` loop runs unchanged.
    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        let grads = match self.monitor.grad_clip() {
            Some(max_norm) => clip_grad_norm(&self, grads, max_norm),
            None => grads,
        };
        let shadow_clip = self.monitor.shadow_clip();
        clamp_shadow_weights(optim.step(lr, self, grads), shadow_clip)
    }
}

impl<M: Module + ModuleDisplay + LmForward + 'static> InferenceStep for Trainable<M> {
    type Input = LmBatch;
    type Output = SequenceOutput;

    fn step(&self, batch: LmBatch) -> SequenceOutput {
        let (window, split) = (batch.window, batch.split);
        let (output, nll_sum, tokens) = self.forward_batch(batch);
        if split == Split::Valid {
            self.monitor.record_valid(window, nll_sum, tokens);
        }
        output
    }
}
