//! The fine-tuning settings a run directory records so that `--resume` can check them.

use burn::config::Config;

/// Where a fine-tuned run records its [`FinetuneSetup`].
pub const FINETUNE_SETUP_FILE: &str = "finetune.json";

/// The fine-tuning settings that belong neither to the model (`quant.json`) nor to the
/// recipe (`train.json`) but that a resumed run must keep (`DIR/finetune.json`).
#[derive(Config, Debug, PartialEq)]
pub struct FinetuneSetup {
    /// The shadow-weight clamp bound ([`super::FitOptions::shadow_clip`]); `None`: not
    /// clamped.
    #[config(default = "None")]
    pub shadow_clip: Option<f32>,
}
