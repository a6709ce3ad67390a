//! Benchmarks of burn-amq against Burn's f32 path, measured side by side in one process.
//!
//! The report binary `amq-bench` prints markdown tables and, with `--json PATH`, writes the
//! same numbers as JSON rows; the criterion benches (`cargo bench -p burn-amq-benches`)
//! time the kernels alone.

pub mod data;
pub mod machine;
pub mod report;
pub mod suites;
pub mod timing;
