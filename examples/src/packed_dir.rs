//! A directory holding a packed language model and its vocabulary: what `ptb finetune`
//! writes beside its checkpoints and what the repository ships in `examples/models/`, so
//! `ptb eval` and `ptb generate` run without Burn checkpoints or training.

use std::path::{Path, PathBuf};

use crate::data::Vocabulary;
use crate::error::{Error, Result};
use crate::model::PackedLanguageModel;

/// File name of the packed model inside a packed directory.
pub const PACKED_MODEL_FILE: &str = "packed.amq";
/// File name of the vocabulary (one word per line, in id order).
pub const VOCAB_FILE: &str = "vocab.txt";

/// The packed 2-bit-weight, 2-bit-activation PTB LSTM shipped with the repository.
pub fn shipped_ptb_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ptb-lstm-w2a2")
}

/// A packed-model directory (`packed.amq` + `vocab.txt`).
#[derive(Debug, Clone)]
pub struct PackedDir {
    path: PathBuf,
}

impl PackedDir {
    /// The directory at `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `DIR/packed.amq`.
    pub fn model_file(&self) -> PathBuf {
        self.path.join(PACKED_MODEL_FILE)
    }

    /// `DIR/vocab.txt`.
    pub fn vocab_file(&self) -> PathBuf {
        self.path.join(VOCAB_FILE)
    }

    /// Whether the directory holds a packed model file.
    pub fn exists(&self) -> bool {
        self.model_file().is_file()
    }

    /// Writes `model` and `vocab` (creating the directory).
    pub fn save(&self, model: &PackedLanguageModel, vocab: &Vocabulary) -> Result<()> {
        vocab.check_size(model.vocab_size(), "the vocabulary to save")?;
        std::fs::create_dir_all(&self.path).map_err(|e| Error::io(&self.path, e))?;
        model.save(self.model_file())?;
        vocab.save(&self.vocab_file())
    }

    /// Reads the model and its vocabulary and checks that they fit each other.
    ///
    /// Errors: [`Error::Checkpoint`] when there is no model file; the packed file's typed
    /// errors (truncated, corrupted, wrong version) as [`Error::Amq`]; vocabulary errors and
    /// [`Error::VocabularyMismatch`].
    pub fn load(&self) -> Result<(PackedLanguageModel, Vocabulary)> {
        let file = self.model_file();
        if !file.is_file() {
            return Err(Error::Checkpoint {
                path: file,
                reason: "no packed model here (written by `ptb finetune`)".into(),
            });
        }
        let model = PackedLanguageModel::load(&file)?;
        let vocab_path = self.vocab_file();
        let vocab = Vocabulary::load(&vocab_path)?;
        vocab.check_size(model.vocab_size(), vocab_path.display().to_string())?;
        Ok((model, vocab))
    }
}
