//! Library side of the burn-amq examples: the data pipeline, the language models (f32,
//! fake-quantized and packed), training with Burn's `Learner`, evaluation, direct
//! quantization and text generation. The `ptb` and `quickstart` binaries are thin drivers
//! over these modules.

pub mod commands;
pub mod data;
pub mod direct;
pub mod error;
pub mod eval;
pub mod export;
pub mod generate;
pub mod model;
pub mod packed_dir;
pub mod pipeline;
pub mod quickstart;
pub mod results;
pub mod train;

pub use error::{Error, Result};
