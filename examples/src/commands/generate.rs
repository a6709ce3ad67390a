//! `ptb generate`: sample text from the packed model of a fine-tuned run, streaming.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::data::{EOS, tokenize};
use crate::error::Result;
use crate::generate::generate;
use crate::model::PackedLanguageModel;
use crate::packed_dir::{PackedDir, shipped_ptb_model};
use crate::pipeline::load_quant;
use crate::train::RunDir;

/// Flags of `ptb generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Run directory of a fine-tuned (quantized) model: packs its best checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with = "packed")]
    pub run: Option<PathBuf>,
    /// Directory with a packed model file (`packed.amq`) and its `vocab.txt`, e.g. a
    /// fine-tuned run directory. Default (without --run): the packed 2/2 PTB LSTM shipped in
    /// examples/models/ptb-lstm-w2a2.
    #[arg(long, value_name = "DIR")]
    pub packed: Option<PathBuf>,
    /// Text to continue (words outside the vocabulary become <unk>).
    #[arg(long, default_value = "")]
    pub prompt: String,
    /// Number of words to sample.
    #[arg(long, default_value_t = 50)]
    pub words: usize,
    /// Sampling temperature (lower: more conservative).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// RNG seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs `ptb generate`.
pub fn run(args: &GenerateArgs) -> Result<()> {
    let (mut packed, vocab) = match (&args.run, &args.packed) {
        (Some(run), _) => {
            let (_, _, vocab, model) = load_quant(&RunDir::new(run))?;
            (PackedLanguageModel::from_quantized(&model)?, vocab)
        }
        (None, Some(dir)) => PackedDir::new(dir).load()?,
        (None, None) => PackedDir::new(shipped_ptb_model()).load()?,
    };
    // The prompt is one line; its trailing <eos> is not fed so the model continues it.
    let mut tokens = tokenize(&args.prompt);
    tokens.pop();
    let prompt = vocab.encode(tokens.iter().copied());
    print!("{}", args.prompt.trim());
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut stdout = std::io::stdout();
    generate(
        &mut packed,
        &vocab,
        &prompt,
        args.words,
        args.temperature,
        &mut rng,
        |word| {
            if word == EOS {
                println!();
            } else {
                print!(" {word}");
            }
            // Streaming output: a failed flush only delays the text.
            let _ = stdout.flush();
        },
    )?;
    println!();
    Ok(())
}
