//! The paper's learning-rate rule as a Burn scheduler: constant within an epoch, divided by
//! a factor when the validation perplexity gets worse (decided by the [`Monitor`]).

use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

use super::monitor::Monitor;

/// Reads the learning rate the monitor's plateau rule set; its record (saved with every
/// checkpoint) holds that rate and the best validation perplexity, so a resumed run
/// continues the schedule, unless it is restarted at a given rate.
#[derive(Debug, Clone)]
pub struct PlateauLr {
    monitor: Monitor,
    restart_lr: Option<f64>,
}

impl PlateauLr {
    /// The schedule of `monitor`; a loaded checkpoint's rate is replaced by `restart_lr`
    /// when given.
    pub fn new(monitor: Monitor, restart_lr: Option<f64>) -> Self {
        Self {
            monitor,
            restart_lr,
        }
    }
}

impl LrScheduler for PlateauLr {
    fn step(&mut self) -> LearningRate {
        self.monitor.lr()
    }

    fn to_record(&self) -> LrSchedulerRecord {
        let record = LrSchedulerRecord::new().with_scalar("lr", self.monitor.lr());
        match self.monitor.best_valid() {
            Some(best) => record.with_scalar("best_valid", best),
            None => record,
        }
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(saved) = record.scalar::<f64>("lr") {
            let lr = self.restart_lr.unwrap_or(saved);
            self.monitor
                .restore_schedule(lr, record.scalar::<f64>("best_valid"));
        }
    }
}
