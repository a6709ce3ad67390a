//! The data pipeline: corpus files → tokens → ids → BPTT windows.
//!
//! - [`corpus`]: locating `train`/`valid`/`test` files (plain or `.gz`) and reading them;
//! - [`tokenizer`]: whitespace words plus `<eos>` per line;
//! - [`vocab`]: the training vocabulary (capped, `<unk>` for the rest), saved as text;
//! - [`batching`]: the `streams × len` layout, BPTT windows, a Burn `Dataset` and `Batcher`.

pub mod batching;
pub mod corpus;
pub mod tokenizer;
pub mod vocab;

use std::path::Path;

pub use batching::{BpttBatcher, BpttDataset, BpttWindow, LmBatch, Streams};
pub use corpus::{CorpusText, Split};
pub use tokenizer::{EOS, UNK, tokenize};
pub use vocab::Vocabulary;

use crate::error::{Error, Result};

/// A corpus encoded with a vocabulary: the id sequence of every split.
#[derive(Debug, Clone)]
pub struct EncodedCorpus {
    /// The vocabulary the ids refer to.
    pub vocab: Vocabulary,
    /// Training ids.
    pub train: Vec<u32>,
    /// Validation ids.
    pub valid: Vec<u32>,
    /// Test ids.
    pub test: Vec<u32>,
}

impl EncodedCorpus {
    /// Builds the vocabulary from the training split (at most `max_vocab` words) and encodes
    /// all three splits with it.
    ///
    /// Errors: [`Error::EmptyCorpus`] when a split holds no tokens, and those of
    /// [`Vocabulary::build`].
    pub fn build(text: &CorpusText, max_vocab: Option<usize>) -> Result<Self> {
        let train = tokenize(&text.train);
        check_non_empty(&train, text, Split::Train)?;
        let vocab = Vocabulary::build(train.iter().copied(), max_vocab)?;
        Self::encode(text, vocab)
    }

    /// Encodes all three splits with an existing vocabulary (words it lacks become `<unk>`).
    pub fn encode(text: &CorpusText, vocab: Vocabulary) -> Result<Self> {
        let mut ids = Vec::with_capacity(3);
        for split in Split::ALL {
            let tokens = tokenize(text.split(split));
            check_non_empty(&tokens, text, split)?;
            ids.push(vocab.encode(tokens));
        }
        let test = ids.pop().unwrap_or_default();
        let valid = ids.pop().unwrap_or_default();
        let train = ids.pop().unwrap_or_default();
        Ok(Self {
            vocab,
            train,
            valid,
            test,
        })
    }

    /// The ids of `split`.
    pub fn split(&self, split: Split) -> &[u32] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }
}

fn check_non_empty(tokens: &[&str], text: &CorpusText, split: Split) -> Result<()> {
    if tokens.is_empty() {
        Err(Error::EmptyCorpus {
            path: text.dir.join(split.name()),
        })
    } else {
        Ok(())
    }
}

/// Reads the corpus in `dir` and builds its vocabulary (see [`EncodedCorpus::build`]).
pub fn load_corpus(dir: &Path, max_vocab: Option<usize>) -> Result<EncodedCorpus> {
    EncodedCorpus::build(&CorpusText::read_dir(dir)?, max_vocab)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(train: &str, valid: &str, test: &str) -> CorpusText {
        CorpusText {
            dir: "mem".into(),
            train: train.into(),
            valid: valid.into(),
            test: test.into(),
        }
    }

    #[test]
    fn unknown_valid_words_become_unk() {
        let corpus = EncodedCorpus::build(&text("a b\nb\n", "b z\n", "a\n"), None).unwrap();
        // vocab: <eos> <unk> b a
        assert_eq!(corpus.train, [3, 2, 0, 2, 0]);
        assert_eq!(corpus.valid, [2, 1, 0]);
        assert_eq!(corpus.split(Split::Test), [3, 0]);
    }

    #[test]
    fn empty_split_is_an_error() {
        let err = EncodedCorpus::build(&text("a\n", "", "a\n"), None).unwrap_err();
        assert!(matches!(err, Error::EmptyCorpus { .. }), "{err}");
    }
}
