//! `quickstart`: train, quantize, fine-tune, pack and compare a small LSTM language model on
//! the WikiText-2 excerpt shipped in the repository, in a few minutes on a laptop CPU.

use std::time::Instant;

use burn_amq_examples::quickstart::{QuickstartConfig, run_quickstart};
use burn_amq_examples::train::format_seconds;

fn main() {
    let started = Instant::now();
    let cfg = QuickstartConfig::default();
    println!(
        "burn-amq quick start: {}-unit LSTM, {} alternating quantization, artifacts in {}",
        cfg.hidden,
        cfg.spec.bits_label(),
        cfg.out.display()
    );
    let report = match run_quickstart(&cfg) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };
    let mb = |bytes: usize| format!("{:.2} MB", bytes as f64 / 1e6);
    println!();
    println!(
        "| {} | test perplexity | parameters | size ratio | ms / token (batch 1) | speed-up |",
        report.model
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| f32 (Burn, Flex) | {:.2} | {} | 1.0x | {:.3} | 1.0x |",
        report.fp_test_ppl,
        mb(report.fp_bytes),
        report.fp_ms_per_token
    );
    println!(
        "| {} fake-quantized (Burn) | {:.2} | | | | |",
        report.bits, report.quant_test_ppl
    );
    println!(
        "| {} packed (burn-amq kernels) | {:.2} | {} | {:.1}x smaller | {:.3} | {:.1}x |",
        report.bits,
        report.packed_test_ppl,
        mb(report.packed_bytes),
        report.fp_bytes as f64 / report.packed_bytes as f64,
        report.packed_ms_per_token,
        report.fp_ms_per_token / report.packed_ms_per_token
    );
    println!();
    println!(
        "training {} (full precision) + {} (fine-tuning); total {}",
        format_seconds(report.train_seconds.0),
        format_seconds(report.train_seconds.1),
        format_seconds(started.elapsed().as_secs_f64())
    );
}
