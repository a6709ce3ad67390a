//! The error type of the examples: every way user input (paths, files, flags) can be wrong.

use std::path::PathBuf;

/// Why a command of the examples failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data directory does not exist.
    #[error(
        "data directory {path} does not exist; pass --data DIR with the corpus files \
         (ptb.train.txt, ptb.valid.txt, ptb.test.txt, optionally gzipped)"
    )]
    MissingDataDir {
        /// The directory that was looked for.
        path: PathBuf,
    },
    /// A split of the corpus is missing from the data directory.
    #[error("no {split} split in {dir}: expected one of {candidates}")]
    MissingSplit {
        /// The data directory.
        dir: PathBuf,
        /// The split (`train`, `valid` or `test`).
        split: &'static str,
        /// The file names that were tried, comma-separated.
        candidates: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A corpus file holds no tokens.
    #[error("{path}: the corpus holds no tokens")]
    EmptyCorpus {
        /// The file.
        path: PathBuf,
    },
    /// A vocabulary file is malformed.
    #[error("vocabulary {path}: {reason}")]
    BadVocabulary {
        /// The file (or a description of the source).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A vocabulary does not fit the model or the data it is used with.
    #[error("vocabulary mismatch: {what} has {found} words, the model expects {expected}")]
    VocabularyMismatch {
        /// What carried the other size (e.g. the vocabulary file's path).
        what: String,
        /// The model's vocabulary size.
        expected: usize,
        /// The size found.
        found: usize,
    },
    /// A checkpoint or model file cannot be used.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file or run directory.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// A command-line value is out of range or inconsistent with another.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Training stopped on an error reported by Burn's learner.
    #[error("training failed: {0}")]
    Training(String),
    /// The packed model's perplexity differs from the fake-quantized model's by more than
    /// the allowed 0.5 %.
    #[error(
        "packed test perplexity {packed:.3} differs from the fake-quantized {fake_quantized:.3} by more than 0.5%"
    )]
    PackedMismatch {
        /// Perplexity of the fake-quantized tensor model.
        fake_quantized: f64,
        /// Perplexity of the packed model.
        packed: f64,
    },
    /// A JSON file could not be read or written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A quantized layer rejected its settings or input.
    #[error(transparent)]
    Amq(#[from] burn_amq::Error),
    /// A quantization kernel rejected its input.
    #[error(transparent)]
    Kernel(#[from] burn_amq_kernels::AmqError),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias with [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
