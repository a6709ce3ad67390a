//! `ptb eval`: perplexity of a run's model: f32, or fake-quantized and packed.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::common::{DataArgs, ppl_cell, print_table};
use crate::data::Split;
use crate::error::Result;
use crate::model::PackedLanguageModel;
use crate::packed_dir::{PackedDir, shipped_ptb_model};
use crate::pipeline::{
    encode_dir, load_fp, load_quant, packed_perplexity, relative_gap, split_perplexity,
};
use crate::train::{RunDir, format_seconds};

/// Flags of `ptb eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Run directory (`ptb train` or `ptb finetune` output).
    #[arg(long, value_name = "DIR", conflicts_with = "packed")]
    pub run: Option<PathBuf>,
    /// Directory with a packed model file (`packed.amq`) and its `vocab.txt`: evaluates the
    /// packed model alone, without Burn checkpoints. Default (without --run): the packed 2/2
    /// PTB LSTM shipped in examples/models/ptb-lstm-w2a2.
    #[arg(long, value_name = "DIR")]
    pub packed: Option<PathBuf>,
    /// Batch (parallel streams) of the evaluation.
    #[arg(long, default_value_t = 10)]
    pub eval_batch: usize,
    /// Window length of the tensor models' evaluation.
    #[arg(long, default_value_t = 30)]
    pub bptt: usize,
    #[command(flatten)]
    /// Corpus.
    pub data: DataArgs,
}

/// Runs `ptb eval`.
pub fn run(args: &EvalArgs) -> Result<()> {
    let mut table = Vec::new();
    let timed = |f: &mut dyn FnMut() -> Result<f64>| -> Result<(f64, String)> {
        let t = Instant::now();
        let v = f()?;
        Ok((v, format_seconds(t.elapsed().as_secs_f64())))
    };
    let Some(run) = &args.run else {
        let dir = PackedDir::new(args.packed.clone().unwrap_or_else(shipped_ptb_model));
        let (mut packed, vocab) = dir.load()?;
        let corpus = encode_dir(&args.data.resolve()?, vocab)?;
        for split in [Split::Valid, Split::Test] {
            let (p, tp) = timed(&mut || {
                Ok(packed_perplexity(&mut packed, &corpus, split, args.eval_batch)?.value())
            })?;
            table.push(vec![
                format!("packed {}", dir.model_file().display()),
                split.name().into(),
                ppl_cell(p),
                tp,
            ]);
        }
        print_table(&["model", "split", "perplexity", "time"], &table);
        println!("{}", packed.size_report());
        return Ok(());
    };
    let run_dir = RunDir::new(run);
    run_dir.require_exists()?;
    if run_dir.quant_spec()?.is_some() {
        let (lm, spec, vocab, model) = load_quant(&run_dir)?;
        let corpus = encode_dir(&args.data.resolve()?, vocab)?;
        let mut packed = PackedLanguageModel::from_quantized(&model)?;
        for split in [Split::Valid, Split::Test] {
            let (f, tf) = timed(&mut || {
                Ok(split_perplexity(&model, &corpus, split, args.eval_batch, args.bptt)?.value())
            })?;
            let (p, tp) = timed(&mut || {
                Ok(packed_perplexity(&mut packed, &corpus, split, args.eval_batch)?.value())
            })?;
            table.push(vec![
                format!("{} {} fake-quantized", lm.name(), spec.bits_label()),
                split.name().into(),
                ppl_cell(f),
                tf,
            ]);
            table.push(vec![
                format!("{} {} packed", lm.name(), spec.bits_label()),
                split.name().into(),
                format!(
                    "{} ({:+.3}%)",
                    ppl_cell(p),
                    100.0 * relative_gap(p, f) * (p - f).signum()
                ),
                tp,
            ]);
        }
    } else {
        let (lm, vocab, model) = load_fp(&run_dir)?;
        let corpus = encode_dir(&args.data.resolve()?, vocab)?;
        for split in [Split::Valid, Split::Test] {
            let (v, t) = timed(&mut || {
                Ok(split_perplexity(&model, &corpus, split, args.eval_batch, args.bptt)?.value())
            })?;
            table.push(vec![
                format!("{} f32", lm.name()),
                split.name().into(),
                ppl_cell(v),
                t,
            ]);
        }
    }
    print_table(&["model", "split", "perplexity", "time"], &table);
    Ok(())
}
