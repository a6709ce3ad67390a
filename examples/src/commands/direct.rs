//! `ptb direct`: quantize the trained weights without retraining (the paper's Tables 1–2).

use std::path::PathBuf;

use clap::Args;

use super::common::{DataArgs, ResultsArgs, base_label, parse_method, ppl_cell, print_table};
use crate::data::Split;
use crate::direct::{MatrixGroup, quantize_weights_in};
use crate::error::{Error, Result};
use crate::pipeline::{encode_dir, load_fp, split_perplexity};
use crate::results::ResultRow;
use crate::train::RunDir;

/// Flags of `ptb direct`.
#[derive(Debug, Clone, Args)]
pub struct DirectArgs {
    /// Run directory of the trained full-precision model.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Methods, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "uniform,balanced,greedy,refined,alternating,alternating-refit,alternating-multistart"
    )]
    pub methods: Vec<String>,
    /// Bit widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2,3,4")]
    pub bits: Vec<usize>,
    /// Quantize only these matrix groups (embedding, recurrent, decoder), comma-separated;
    /// the rest stay f32. Such partial runs are printed but not merged into the results.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "embedding,recurrent,decoder"
    )]
    pub only: Vec<String>,
    /// Batch (parallel streams) of the evaluation.
    #[arg(long, default_value_t = 10)]
    pub eval_batch: usize,
    /// Window length of the evaluation.
    #[arg(long, default_value_t = 30)]
    pub bptt: usize,
    #[command(flatten)]
    /// Corpus.
    pub data: DataArgs,
    #[command(flatten)]
    /// Result rows.
    pub results: ResultsArgs,
}

/// Runs `ptb direct`.
pub fn run(args: &DirectArgs) -> Result<()> {
    let methods = args
        .methods
        .iter()
        .map(|m| parse_method(m))
        .collect::<Result<Vec<_>>>()?;
    if methods.is_empty() || args.bits.is_empty() {
        return Err(Error::InvalidArgument(
            "give at least one method and one bit width".into(),
        ));
    }
    let groups = args
        .only
        .iter()
        .map(|g| MatrixGroup::parse(g))
        .collect::<Result<Vec<_>>>()?;
    let whole_model = MatrixGroup::ALL.iter().all(|g| groups.contains(g));
    let from = RunDir::new(&args.from);
    let (lm, vocab, fp) = load_fp(&from)?;
    let corpus = encode_dir(&args.data.resolve()?, vocab)?;
    let eval = |model: &crate::model::FpLanguageModel, split| {
        split_perplexity(model, &corpus, split, args.eval_batch, args.bptt)
    };
    let fp_valid = eval(&fp, Split::Valid)?.value();
    let fp_test = eval(&fp, Split::Test)?.value();
    println!(
        "{}: full precision valid {fp_valid:.2}, test {fp_test:.2}",
        lm.name()
    );
    let mut rows = Vec::new();
    let mut table = Vec::new();
    let mut matrix_names: Vec<String> = Vec::new();
    let mut peaks: Vec<String> = Vec::new();
    let mut matrix_table = Vec::new();
    for method in methods {
        for &bits in &args.bits {
            let (model, err) = quantize_weights_in(&fp, bits, method, &groups)?;
            let valid = eval(&model, Split::Valid)?.value();
            let test = eval(&model, Split::Test)?.value();
            let rel = err.relative();
            println!(
                "{} {bits}-bit: rel. sq. error {rel:.4}, test ppl {test:.2}",
                method.name()
            );
            if matrix_names.is_empty() {
                matrix_names = err.per_matrix().map(|(n, _)| n.to_owned()).collect();
                peaks = err.peak_to_rms().map(|(_, p)| format!("{p:.2}")).collect();
            }
            let mut matrix_row = vec![method.name().to_owned(), bits.to_string()];
            matrix_row.extend(err.per_matrix().map(|(_, rel)| format!("{rel:.4}")));
            matrix_table.push(matrix_row);
            table.push(vec![
                method.name().to_owned(),
                bits.to_string(),
                format!("{rel:.4}"),
                ppl_cell(valid),
                ppl_cell(test),
            ]);
            rows.push(ResultRow {
                dataset: args.results.dataset.clone(),
                model: lm.name(),
                mode: "direct".into(),
                method: Some(method.name().into()),
                w_bits: bits,
                a_bits: 0,
                valid_ppl: Some(valid),
                test_ppl: Some(test),
                packed_test_ppl: None,
                rel_mse: Some(rel),
                epochs: None,
                train_fraction: None,
                shadow_clip: None,
                dropout: None,
                decoder_bits: None,
                base: base_label(&args.from),
            });
        }
    }
    print_table(
        &["method", "bits", "‖W−Ŵ‖²/‖W‖²", "valid ppl", "test ppl"],
        &table,
    );
    println!("\nrelative squared error per matrix:");
    let mut header = vec!["method", "bits"];
    header.extend(matrix_names.iter().map(String::as_str));
    print_table(&header, &matrix_table);
    println!("\nmedian over rows of max|w| / rms(w) (full-precision weights):");
    print_table(&header[2..], &[peaks]);
    if !whole_model {
        println!("only part of the model was quantized: rows not merged into the results");
        return Ok(());
    }
    args.results.write(&rows)
}
