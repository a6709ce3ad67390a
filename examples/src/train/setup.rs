//! The settings a run directory records so that `--resume` can check them: how a
//! fine-tuned run was set up, and which model a warm-started run began from.

use burn::config::Config;

/// Where a fine-tuned run records its [`FinetuneSetup`].
pub const FINETUNE_SETUP_FILE: &str = "finetune.json";

/// Where a warm-started full-precision run records its [`WarmStart`].
pub const WARM_START_FILE: &str = "init.json";

/// The model a full-precision run started from instead of a fresh initialisation
/// (`ptb train --init-from`, `DIR/init.json`).
#[derive(Config, Debug, PartialEq)]
pub struct WarmStart {
    /// The base model directory (a run or a `ptb export`), as given.
    pub source: String,
    /// The epochs of training behind the base: the last epoch of its `history.json`, plus
    /// its own `base_epochs` when the base was itself warm-started. The run's dropout stream
    /// continues from there.
    pub base_epochs: usize,
}

/// The fine-tuning settings that belong neither to the model (`quant.json`) nor to the
/// recipe (`train.json`) but that a resumed run must keep (`DIR/finetune.json`).
#[derive(Config, Debug, PartialEq)]
pub struct FinetuneSetup {
    /// The shadow-weight clamp bound ([`super::FitOptions::shadow_clip`]); `None`: not
    /// clamped.
    #[config(default = "None")]
    pub shadow_clip: Option<f32>,
    /// The dropout probability of the fine-tuned model ([`super::FitOptions::dropout`]);
    /// `None`: the base model's. Runs recorded before this field existed read as `None`.
    #[config(default = "None")]
    pub dropout: Option<f64>,
}

impl FinetuneSetup {
    /// The `ptb finetune` flags that reproduce this setup, e.g.
    /// `"--no-shadow-clip --dropout 0.3"`.
    pub fn flags(&self) -> String {
        let clip = self.shadow_clip.map_or("--no-shadow-clip".to_owned(), |c| {
            format!("--shadow-clip {c}")
        });
        match self.dropout {
            Some(p) => format!("{clip} --dropout {p}"),
            None => clip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `finetune.json` written before the dropout field existed still loads, as "the base
    /// model's dropout".
    #[test]
    fn old_setup_files_load_without_dropout() {
        let old: FinetuneSetup = serde_json::from_str(r#"{"shadow_clip": 1.0}"#).unwrap();
        assert_eq!(old, FinetuneSetup::new().with_shadow_clip(Some(1.0)));
        assert_eq!(old.flags(), "--shadow-clip 1");
        let new = FinetuneSetup::new().with_dropout(Some(0.3));
        assert_eq!(new.flags(), "--no-shadow-clip --dropout 0.3");
    }
}
