//! The quick start: the whole story on a small corpus shipped in the repository (an excerpt
//! of WikiText-2, CC BY-SA; see `examples/data/wikitext-2-excerpt/README.md`).
//!
//! Train a small full-precision LSTM, convert it to quantized layers, fine-tune, pack, and
//! compare perplexity, size and per-token latency of the f32 and packed models.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use flate2::read::GzDecoder;

use crate::data::{CorpusText, EncodedCorpus, Split};
use crate::error::{Error, Result};
use crate::eval::id_tensor;
use crate::model::{
    FpLanguageModel, LmConfig, LmForward, PackedLanguageModel, QuantSpec, RnnState,
};
use crate::pipeline::{device, f32_bytes, finetune, packed_perplexity, split_perplexity, train_fp};
use crate::train::{FitOptions, RunDir, TrainConfig};

const TRAIN_GZ: &[u8] = include_bytes!("../data/wikitext-2-excerpt/wiki.train.tokens.gz");
const VALID_GZ: &[u8] = include_bytes!("../data/wikitext-2-excerpt/wiki.valid.tokens.gz");
const TEST_GZ: &[u8] = include_bytes!("../data/wikitext-2-excerpt/wiki.test.tokens.gz");

fn gunzip(bytes: &[u8], name: &str) -> Result<String> {
    let mut text = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(name, e))?;
    Ok(text)
}

/// The embedded corpus (127k / 12k / 15k tokens of WikiText-2 text).
pub fn embedded_corpus() -> Result<CorpusText> {
    Ok(CorpusText {
        dir: PathBuf::from("<embedded wikitext-2 excerpt>"),
        train: gunzip(TRAIN_GZ, "wiki.train.tokens.gz")?,
        valid: gunzip(VALID_GZ, "wiki.valid.tokens.gz")?,
        test: gunzip(TEST_GZ, "wiki.test.tokens.gz")?,
    })
}

/// Settings of a quick-start run.
#[derive(Debug, Clone)]
pub struct QuickstartConfig {
    /// Where the two run directories go.
    pub out: PathBuf,
    /// Vocabulary cap.
    pub vocab: usize,
    /// Embedding and hidden size.
    pub hidden: usize,
    /// Full-precision training epochs.
    pub fp_epochs: usize,
    /// Quantized fine-tuning epochs.
    pub qat_epochs: usize,
    /// Training recipe shared by both phases (its `epochs` is overridden per phase).
    pub recipe: TrainConfig,
    /// Quantization of the fine-tuned model.
    pub spec: QuantSpec,
    /// Dropout.
    pub dropout: f64,
    /// Tokens timed for the per-token latency (after a few warm-up tokens).
    pub latency_tokens: usize,
    /// Keep only this many leading training lines (`None`: all).
    pub train_lines: Option<usize>,
    /// Print progress.
    pub echo: bool,
}

impl Default for QuickstartConfig {
    fn default() -> Self {
        Self {
            out: PathBuf::from("target/quickstart"),
            vocab: 3000,
            hidden: 128,
            fp_epochs: 3,
            qat_epochs: 1,
            recipe: TrainConfig::new().with_log_every(50),
            spec: QuantSpec::new(),
            dropout: 0.2,
            latency_tokens: 300,
            train_lines: None,
            echo: true,
        }
    }
}

/// What the quick start measured.
#[derive(Debug, Clone)]
pub struct QuickstartReport {
    /// The architecture.
    pub model: String,
    /// Quantization label, e.g. `"2/2"`.
    pub bits: String,
    /// Test perplexity of the f32 model.
    pub fp_test_ppl: f64,
    /// Test perplexity of the fake-quantized model.
    pub quant_test_ppl: f64,
    /// Test perplexity of the packed model.
    pub packed_test_ppl: f64,
    /// Bytes of the f32 parameters.
    pub fp_bytes: usize,
    /// Bytes of the packed parameters.
    pub packed_bytes: usize,
    /// Mean time per generated token of the f32 model (batch 1), milliseconds.
    pub fp_ms_per_token: f64,
    /// Mean time per generated token of the packed model (batch 1), milliseconds.
    pub packed_ms_per_token: f64,
    /// Train-phase wall times: full precision, fine-tuning (seconds).
    pub train_seconds: (f64, f64),
}

fn say(echo: bool, line: &str) {
    if echo {
        println!("{line}");
    }
}

/// Runs the quick start.
pub fn run_quickstart(cfg: &QuickstartConfig) -> Result<QuickstartReport> {
    let mut text = embedded_corpus()?;
    if let Some(lines) = cfg.train_lines {
        text.train = text
            .train
            .lines()
            .take(lines)
            .collect::<Vec<_>>()
            .join("\n");
    }
    let corpus = EncodedCorpus::build(&text, Some(cfg.vocab))?;
    say(
        cfg.echo,
        &format!(
            "corpus: WikiText-2 excerpt, {} train / {} valid / {} test tokens, vocabulary {}",
            corpus.train.len(),
            corpus.valid.len(),
            corpus.test.len(),
            corpus.vocab.len()
        ),
    );
    let lm = LmConfig::new(corpus.vocab.len())
        .with_d_embedding(cfg.hidden)
        .with_d_hidden(cfg.hidden)
        .with_dropout(cfg.dropout);
    let options = FitOptions {
        shadow_clip: None,
        dropout: None,
        resume: false,
        plateau_best: None,
        echo: cfg.echo,
    };
    let fp_run = RunDir::new(cfg.out.join("fp"));
    let qat_run = RunDir::new(cfg.out.join("qat"));
    for run in [&fp_run, &qat_run] {
        if run.path().exists() {
            std::fs::remove_dir_all(run.path()).map_err(|e| Error::io(run.path(), e))?;
        }
    }

    say(
        cfg.echo,
        &format!("\n[1/4] training the full-precision {}", lm.name()),
    );
    let started = Instant::now();
    let fp = train_fp(
        &corpus,
        &lm,
        &cfg.recipe.clone().with_epochs(cfg.fp_epochs),
        &fp_run,
        options,
    )?;
    let fp_seconds = started.elapsed().as_secs_f64();

    say(
        cfg.echo,
        &format!(
            "\n[2/4] converting to {} quantized layers and fine-tuning",
            cfg.spec.bits_label()
        ),
    );
    let started = Instant::now();
    let qat = finetune(
        &fp_run,
        &corpus,
        &cfg.spec,
        &cfg.recipe.clone().with_epochs(cfg.qat_epochs),
        &qat_run,
        FitOptions {
            shadow_clip: Some(1.0),
            ..options
        },
    )?;
    let qat_seconds = started.elapsed().as_secs_f64();

    say(cfg.echo, "\n[3/4] packing and evaluating on the test split");
    let r = &cfg.recipe;
    let fp_test = split_perplexity(&fp.model, &corpus, Split::Test, r.eval_batch, r.bptt)?;
    let quant_test = split_perplexity(&qat.model, &corpus, Split::Test, r.eval_batch, r.bptt)?;
    let mut packed = PackedLanguageModel::from_quantized(&qat.model)?;
    let packed_test = packed_perplexity(&mut packed, &corpus, Split::Test, r.eval_batch)?;

    say(cfg.echo, "[4/4] timing one token at a time (batch 1)");
    let prompt = &corpus.test[..cfg.latency_tokens.min(corpus.test.len())];
    let fp_ms = fp_latency_ms(&fp.model, prompt);
    let packed_ms = packed_latency_ms(&mut packed, prompt)?;

    Ok(QuickstartReport {
        model: lm.name(),
        bits: cfg.spec.bits_label(),
        fp_test_ppl: fp_test.value(),
        quant_test_ppl: quant_test.value(),
        packed_test_ppl: packed_test.value(),
        fp_bytes: f32_bytes(&fp.model),
        packed_bytes: packed.storage_bytes(),
        fp_ms_per_token: fp_ms,
        packed_ms_per_token: packed_ms,
        train_seconds: (fp_seconds, qat_seconds),
    })
}

/// Warm-up tokens before timing.
const WARMUP: usize = 10;

/// Mean milliseconds per token of the f32 model fed one token at a time (logits read back).
pub fn fp_latency_ms(model: &FpLanguageModel, tokens: &[u32]) -> f64 {
    let model = model.clone().valid();
    let device = device();
    let mut state: Option<RnnState> = None;
    let mut started = Instant::now();
    for (i, &token) in tokens.iter().enumerate() {
        if i == WARMUP.min(tokens.len() / 2) {
            started = Instant::now();
        }
        let (logits, next) = model.forward_window(id_tensor(&[token], 1, 1, &device), state);
        state = Some(next);
        // Reading the logits back is part of producing a token.
        let _ = logits.into_data();
    }
    per_token_ms(started, tokens.len())
}

/// Mean milliseconds per token of the packed model fed one token at a time.
pub fn packed_latency_ms(model: &mut PackedLanguageModel, tokens: &[u32]) -> Result<f64> {
    let mut state = model.zero_state(1);
    let mut logits = vec![0.0f32; model.vocab_size()];
    let mut started = Instant::now();
    for (i, &token) in tokens.iter().enumerate() {
        if i == WARMUP.min(tokens.len() / 2) {
            started = Instant::now();
        }
        model.step(&[token], &mut state, &mut logits)?;
    }
    Ok(per_token_ms(started, tokens.len()))
}

fn per_token_ms(started: Instant, tokens: usize) -> f64 {
    let timed = tokens - WARMUP.min(tokens / 2);
    1000.0 * started.elapsed().as_secs_f64() / timed.max(1) as f64
}
