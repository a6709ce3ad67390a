//! The subcommands of the `ptb` binary (flags and drivers; the work is in the library).

pub mod common;
pub mod direct;
pub mod eval;
pub mod export;
pub mod finetune;
pub mod generate;
pub mod train;
