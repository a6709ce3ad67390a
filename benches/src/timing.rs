//! Timing: median of many repetitions after warm-up, in one process.

use std::time::{Duration, Instant};

/// How long to measure one case.
#[derive(Debug, Clone, Copy)]
pub struct TimingPlan {
    /// Wall time spent warming up before sampling.
    pub warmup: Duration,
    /// Number of samples; the reported time is their median.
    pub samples: usize,
    /// Target duration of one sample (it repeats the operation this long).
    pub sample_time: Duration,
}

impl TimingPlan {
    /// The plan of a full report run.
    pub const FULL: TimingPlan = TimingPlan {
        warmup: Duration::from_millis(100),
        samples: 15,
        sample_time: Duration::from_millis(8),
    };
    /// A quick plan for smoke runs (`--quick`): the same code path, few repetitions.
    pub const QUICK: TimingPlan = TimingPlan {
        warmup: Duration::from_millis(5),
        samples: 3,
        sample_time: Duration::from_millis(1),
    };
}

/// Median time per call of each operation, in microseconds.
///
/// Operations are sampled *interleaved* (sample 1 of each, then sample 2 of each, ...), so
/// that a noisy neighbour slows all of them alike and their ratio stays meaningful on a
/// shared machine.
pub fn median_us_interleaved(plan: TimingPlan, ops: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    // Warm-up, and size the repetition count of each operation.
    let mut reps = Vec::with_capacity(ops.len());
    for op in ops.iter_mut() {
        let start = Instant::now();
        let mut calls = 0u64;
        while calls < 2 || start.elapsed() < plan.warmup {
            op();
            calls += 1;
        }
        let per_call = start.elapsed().as_secs_f64() / calls as f64;
        let r = (plan.sample_time.as_secs_f64() / per_call).ceil() as u64;
        reps.push(r.clamp(1, 1_000_000));
    }
    let mut samples = vec![Vec::with_capacity(plan.samples); ops.len()];
    for _ in 0..plan.samples {
        for (i, op) in ops.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..reps[i] {
                op();
            }
            samples[i].push(start.elapsed().as_secs_f64() * 1e6 / reps[i] as f64);
        }
    }
    samples.into_iter().map(median).collect()
}

/// Median of a non-empty sample (NaN for an empty one).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        0.5 * (v[mid - 1] + v[mid])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn interleaved_timing_orders_slow_and_fast() {
        let mut fast = || {
            std::hint::black_box(1 + 1);
        };
        let mut slow = || std::thread::sleep(Duration::from_micros(200));
        let t = median_us_interleaved(TimingPlan::QUICK, &mut [&mut fast, &mut slow]);
        assert!(t[1] > t[0] * 10.0, "{t:?}");
        assert!(t[1] >= 200.0);
    }
}
