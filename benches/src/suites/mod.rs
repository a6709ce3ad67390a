//! The report suites of `amq-bench`.

pub mod kernels;
pub mod layers;
pub mod recurrent;
pub mod size;
pub mod train_step;

use std::fmt;

use burn_amq_kernels::Par;

/// Why a suite could not produce its rows.
#[derive(Debug)]
pub enum SuiteError {
    /// A layer call of burn-amq failed.
    Layer(burn_amq::Error),
    /// A kernel call failed.
    Kernel(burn_amq_kernels::AmqError),
    /// A rayon pool could not be built.
    Pool(rayon::ThreadPoolBuildError),
    /// A sanity check of the measured code failed: the numbers would be meaningless.
    Validation(String),
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuiteError::Layer(e) => write!(f, "layer: {e}"),
            SuiteError::Kernel(e) => write!(f, "kernel: {e}"),
            SuiteError::Pool(e) => write!(f, "thread pool: {e}"),
            SuiteError::Validation(e) => write!(f, "validation failed: {e}"),
        }
    }
}

impl std::error::Error for SuiteError {}

impl From<burn_amq::Error> for SuiteError {
    fn from(e: burn_amq::Error) -> Self {
        SuiteError::Layer(e)
    }
}

impl From<burn_amq_kernels::AmqError> for SuiteError {
    fn from(e: burn_amq_kernels::AmqError) -> Self {
        SuiteError::Kernel(e)
    }
}

impl From<rayon::ThreadPoolBuildError> for SuiteError {
    fn from(e: rayon::ThreadPoolBuildError) -> Self {
        SuiteError::Pool(e)
    }
}

/// A rayon pool of `threads` threads. Burn's Flex backend parallelises on the current rayon
/// pool, so running a whole thread-count group inside one `install` pins Flex to that many
/// threads without a cross-thread hand-off per call (an `install` per call would add ~100 µs
/// of wake-up latency to every f32 sample).
pub fn rayon_pool(threads: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build()
}

/// The kernels' setting for `threads` threads: the calling thread alone for 1.
pub fn par_for(threads: usize) -> Par {
    if threads <= 1 {
        Par::Seq
    } else {
        Par::Threads(threads)
    }
}
