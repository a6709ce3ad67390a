//! The report suites of `amq-bench`.

pub mod kernels;
