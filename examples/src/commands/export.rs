//! `ptb export`: a run's best model as a compact model directory (f16 by default).

use std::path::PathBuf;

use clap::Args;

use crate::error::Result;
use crate::export::{StoredPrecision, export_run};
use crate::train::RunDir;

/// Flags of `ptb export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Run directory (`ptb train` or `ptb finetune` output).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// New model directory; `finetune --from`, `direct --from` and `eval --run` read it.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How the weights are stored.
    #[arg(long, value_enum, default_value_t = StoredPrecision::F16)]
    pub precision: StoredPrecision,
}

/// Runs `ptb export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let out = RunDir::new(&args.out);
    let info = export_run(&RunDir::new(&args.from), &out, args.precision)?;
    let bytes = std::fs::metadata(out.model_file()).map_or(0, |m| m.len());
    println!(
        "exported the best model of {} ({} epochs, {}) to {} as {:?}: {:.2} MB",
        info.source,
        info.epochs,
        if info.quantized {
            "fine-tuned"
        } else {
            "full precision"
        },
        out.model_file().display(),
        info.precision,
        bytes as f64 / 1e6
    );
    Ok(())
}
