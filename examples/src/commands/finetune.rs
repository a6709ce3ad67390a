//! `ptb finetune`: quantization-aware fine-tuning from a trained full-precision run.

use std::path::PathBuf;

use clap::Args;

use super::common::{
    DataArgs, RecipeArgs, ResultsArgs, base_label, optional_bits, ppl_cell, print_table,
    trainable_method,
};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::model::{PackedLanguageModel, QuantSpec};
use crate::packed_dir::PackedDir;
use crate::pipeline::{
    PACKED_TOLERANCE, encode_dir, finetune, load_fp, packed_perplexity, relative_gap,
    split_perplexity,
};
use crate::results::ResultRow;
use crate::train::{FitOptions, RunDir, check_shadow_clip};

/// Flags of `ptb finetune`.
#[derive(Debug, Clone, Args)]
pub struct FinetuneArgs {
    /// Run directory of the trained full-precision model (`ptb train --out`).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Run directory of the fine-tuned model.
    #[arg(long, default_value = "target/runs/ptb-lstm-w2a2")]
    pub out: PathBuf,
    /// Weight bits (embedding, recurrent and decoder matrices).
    #[arg(long, default_value_t = 2)]
    pub w_bits: usize,
    /// Activation bits (hidden state and decoder input); 0 keeps activations in f32.
    #[arg(long, default_value_t = 2)]
    pub a_bits: usize,
    /// Quantization method: greedy, refined, alternating[:T], alternating-refit[:T] or
    /// alternating-multistart[:T] (T: alternating cycles, default 2).
    #[arg(long, default_value = "alternating")]
    pub method: String,
    /// Weight bits of the decoder (softmax) matrix alone (default: --w-bits); an ablation,
    /// since the paper does not say how it quantizes that matrix.
    #[arg(long, value_name = "BITS")]
    pub decoder_bits: Option<usize>,
    /// Quantize the recurrent layer's input again (it is already a quantized embedding row).
    #[arg(long)]
    pub quantize_rnn_input: bool,
    /// Clamp the shadow weights to [−C, C] at the conversion and after every step (the
    /// paper's recipe: 1).
    #[arg(long, value_name = "C", default_value_t = 1.0)]
    pub shadow_clip: f32,
    /// Do not clamp the shadow weights (keeps full-precision weights outside [−1, 1], e.g. a
    /// GRU's large recurrent self-connections).
    #[arg(long, conflicts_with = "shadow_clip")]
    pub no_shadow_clip: bool,
    /// Dropout probability while fine-tuning (default: the base model's). Quantization
    /// already regularizes, so a quantized model may underfit under the base's dropout.
    #[arg(long, value_name = "P")]
    pub dropout: Option<f64>,
    #[command(flatten)]
    /// Corpus.
    pub data: DataArgs,
    #[command(flatten)]
    /// Training recipe.
    pub recipe: RecipeArgs,
    #[command(flatten)]
    /// Result rows.
    pub results: ResultsArgs,
}

/// Runs `ptb finetune`.
pub fn run(args: &FinetuneArgs) -> Result<()> {
    let method = trainable_method(&args.method)?;
    let spec = QuantSpec::new()
        .with_weight_bits(args.w_bits)
        .with_act_bits(optional_bits(args.a_bits))
        .with_method(method)
        .with_quantize_rnn_input(args.quantize_rnn_input)
        // `--decoder-bits` equal to `--w-bits` is the plain model: record it as such, so
        // that its quant.json and result rows match a run without the flag.
        .with_decoder_weight_bits(args.decoder_bits.filter(|&d| d != args.w_bits));
    let from = RunDir::new(&args.from);
    let (lm, vocab, _) = load_fp(&from)?;
    let corpus = encode_dir(&args.data.resolve()?, vocab)?;
    let cfg = args.recipe.config();
    let shadow_clip = (!args.no_shadow_clip).then_some(args.shadow_clip);
    check_shadow_clip(shadow_clip)?;
    let dropout = args.dropout.unwrap_or(lm.dropout);
    let run_dir = RunDir::new(&args.out);
    println!(
        "fine-tuning {} from {} with {} {} quantization, dropout {}, shadow weights {}",
        lm.name(),
        from.path().display(),
        spec.bits_label(),
        method.name(),
        dropout,
        shadow_clip.map_or("not clamped".to_owned(), |c| format!(
            "clamped to [-{c}, {c}]"
        ))
    );
    let outcome = finetune(
        &from,
        &corpus,
        &spec,
        &cfg,
        &run_dir,
        FitOptions {
            shadow_clip,
            dropout: args.dropout,
            resume: args.recipe.resume,
            plateau_best: None,
            echo: true,
        },
    )?;
    if let Some(reason) = &outcome.stopped {
        println!("training stopped early: {reason}");
    }
    let model = &outcome.model;
    let valid = split_perplexity(model, &corpus, Split::Valid, cfg.eval_batch, cfg.bptt)?;
    let test = split_perplexity(model, &corpus, Split::Test, cfg.eval_batch, cfg.bptt)?;
    let mut packed = PackedLanguageModel::from_quantized(model)?;
    let packed_test = packed_perplexity(&mut packed, &corpus, Split::Test, cfg.eval_batch)?;
    let packed_dir = PackedDir::new(run_dir.path());
    packed_dir.save(&packed, &corpus.vocab)?;
    println!(
        "packed model: {} ({})",
        packed_dir.model_file().display(),
        packed.size_report()
    );
    let gap = relative_gap(packed_test.value(), test.value());
    print_table(
        &[
            "model",
            "bits",
            "method",
            "epochs",
            "valid ppl",
            "test ppl",
            "packed test ppl",
            "gap",
        ],
        &[vec![
            lm.name(),
            spec.bits_label(),
            method.name().into(),
            outcome.history.len().to_string(),
            ppl_cell(valid.value()),
            ppl_cell(test.value()),
            ppl_cell(packed_test.value()),
            format!("{:.3}%", 100.0 * gap),
        ]],
    );
    args.results.write(&[ResultRow {
        dataset: args.results.dataset.clone(),
        model: lm.name(),
        mode: "qat".into(),
        method: Some(method.name().into()),
        w_bits: spec.weight_bits,
        a_bits: spec.act_bits.unwrap_or(0),
        valid_ppl: Some(valid.value()),
        test_ppl: Some(test.value()),
        packed_test_ppl: Some(packed_test.value()),
        rel_mse: None,
        epochs: Some(outcome.history.len()),
        train_fraction: Some(cfg.train_fraction),
        shadow_clip: shadow_clip.map(f64::from),
        dropout: Some(dropout),
        decoder_bits: spec.decoder_weight_bits,
        base: base_label(&args.from),
    }])?;
    if gap > PACKED_TOLERANCE {
        return Err(Error::PackedMismatch {
            fake_quantized: test.value(),
            packed: packed_test.value(),
        });
    }
    Ok(())
}
