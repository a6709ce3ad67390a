//! `ptb`: word-level language modelling on Penn Treebank with burn-amq's quantized layers.

use clap::{Parser, Subcommand};

use burn_amq_examples::commands::{direct, eval, export, finetune, generate, train};

/// Language modelling on Penn Treebank (Mikolov splits) with alternating multi-bit
/// quantization (Xu et al., ICLR 2018).
///
/// The usual sequence: `train` a full-precision model, `finetune` it quantized, then `eval`
/// and `generate` with the packed model; `direct` reproduces the paper's direct-quantization
/// tables from the full-precision model. Every run directory holds its logs, per-epoch
/// checkpoints (`--resume` continues after the last one) and its best model.
#[derive(Debug, Parser)]
#[command(name = "ptb", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a full-precision 1-layer LSTM or GRU language model (SGD, lr 20 ÷ 1.2 on
    /// plateau, gradient norm clip 0.25, dropout 0.5, BPTT 30, batch 20).
    Train(train::TrainArgs),
    /// Fine-tune a trained model with quantized weights (embedding, recurrent matrices,
    /// decoder) and hidden state; shadow weights are clipped to [-1, 1] after every step.
    /// Reports the fake-quantized and the packed (CPU kernel) perplexity.
    Finetune(finetune::FinetuneArgs),
    /// Quantize the trained full-precision weights without retraining, for every method
    /// and bit width: relative squared error and perplexity (the paper's Tables 1-2).
    Direct(direct::DirectArgs),
    /// Perplexity of a run's model on the validation and test splits: f32 for a trained
    /// run, fake-quantized and packed for a fine-tuned run.
    Eval(eval::EvalArgs),
    /// Sample text from the packed model of a fine-tuned run, word by word.
    Generate(generate::GenerateArgs),
    /// Write a run's best model, with its architecture and vocabulary, to a new directory,
    /// f16 by default (half the size, no training state): a base to fine-tune or evaluate.
    Export(export::ExportArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(args) => train::run(args),
        Command::Finetune(args) => finetune::run(args),
        Command::Direct(args) => direct::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Export(args) => export::run(args),
    };
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
