//! The paper's learning-rate rule as a Burn scheduler: constant within an epoch, divided by
//! a factor when the validation perplexity gets worse (decided by the [`Monitor`]).

use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

use super::monitor::Monitor;

/// Reads the learning rate the monitor's plateau rule set; its record (saved with every
/// checkpoint) holds that rate and the best validation perplexity, so a resumed run
/// continues the schedule.
#[derive(Debug, Clone)]
pub struct PlateauLr {
    monitor: Monitor,
}

impl PlateauLr {
    /// The schedule of `monitor`.
    pub fn new(monitor: Monitor) -> Self {
        Self { monitor }
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
        if let Some(lr) = record.scalar::<f64>("lr") {
            self.monitor
                .restore_schedule(lr, record.scalar::<f64>("best_valid"));
        }
    }
}
