//! The word vocabulary: built from the training split, saved beside every model.

use std::collections::HashMap;
use std::path::Path;

use super::tokenizer::{EOS, UNK};
use crate::error::{Error, Result};

/// Word ↔ id mapping. Ids are dense: `0..len()`. [`EOS`] is id 0 and [`UNK`] id 1; the other
/// words follow by decreasing training frequency (ties: first occurrence first), so a capped
/// vocabulary keeps the most frequent words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    words: Vec<String>,
    index: HashMap<String, u32>,
}

impl Vocabulary {
    /// Builds the vocabulary of `tokens`, keeping at most `max_size` words (both special
    /// tokens included; `None` keeps every word). Words that do not fit map to [`UNK`].
    ///
    /// Errors: [`Error::InvalidArgument`] for `max_size < 2` or more than `u32::MAX` words.
    pub fn build<'a>(
        tokens: impl IntoIterator<Item = &'a str>,
        max_size: Option<usize>,
    ) -> Result<Self> {
        if let Some(max) = max_size
            && max < 2
        {
            return Err(Error::InvalidArgument(format!(
                "the vocabulary needs room for {EOS} and {UNK}, got a cap of {max}"
            )));
        }
        // (count, first position) per word.
        let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
        for (position, token) in tokens.into_iter().enumerate() {
            counts.entry(token).or_insert((0, position)).0 += 1;
        }
        let mut ranked: Vec<(&str, usize, usize)> = counts
            .into_iter()
            .filter(|(word, _)| *word != EOS && *word != UNK)
            .map(|(word, (count, first))| (word, count, first))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        let keep = max_size.map_or(ranked.len(), |max| (max - 2).min(ranked.len()));
        let words = [EOS, UNK]
            .into_iter()
            .chain(ranked[..keep].iter().map(|(word, _, _)| *word))
            .map(str::to_owned)
            .collect();
        Self::from_words(words, Path::new("<built>"))
    }

    /// A vocabulary with exactly these words, in id order.
    ///
    /// Errors: [`Error::BadVocabulary`] (naming `source`) for an empty word, a word with
    /// whitespace, a duplicate, a missing [`EOS`] or [`UNK`], or more than `u32::MAX` words.
    pub fn from_words(words: Vec<String>, source: &Path) -> Result<Self> {
        let bad = |reason: String| Error::BadVocabulary {
            path: source.to_path_buf(),
            reason,
        };
        if u32::try_from(words.len()).is_err() {
            return Err(bad(format!("{} words do not fit u32 ids", words.len())));
        }
        let mut index = HashMap::with_capacity(words.len());
        for (id, word) in words.iter().enumerate() {
            if word.is_empty() || word.chars().any(char::is_whitespace) {
                return Err(bad(format!(
                    "word {id} ({word:?}) is empty or contains whitespace"
                )));
            }
            // The length check above makes every id fit in u32.
            if index.insert(word.clone(), id as u32).is_some() {
                return Err(bad(format!("word {word:?} appears twice")));
            }
        }
        for special in [EOS, UNK] {
            if !index.contains_key(special) {
                return Err(bad(format!("the special token {special} is missing")));
            }
        }
        Ok(Self { words, index })
    }

    /// Reads a vocabulary file: one word per line, in id order.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let words = text.lines().map(str::to_owned).collect();
        Self::from_words(words, path)
    }

    /// Writes the vocabulary file read by [`Vocabulary::load`].
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = self.words.join("\n");
        text.push('\n');
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Always false: a vocabulary holds at least the two special tokens.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of [`EOS`].
    pub fn eos_id(&self) -> u32 {
        self.index[EOS]
    }

    /// The id of [`UNK`].
    pub fn unk_id(&self) -> u32 {
        self.index[UNK]
    }

    /// The id of `word`, [`UNK`]'s id when it is not in the vocabulary.
    pub fn id(&self, word: &str) -> u32 {
        self.index
            .get(word)
            .copied()
            .unwrap_or_else(|| self.unk_id())
    }

    /// The ids of `tokens`.
    pub fn encode<'a>(&self, tokens: impl IntoIterator<Item = &'a str>) -> Vec<u32> {
        tokens.into_iter().map(|t| self.id(t)).collect()
    }

    /// The word with id `id`, if any.
    pub fn word(&self, id: u32) -> Option<&str> {
        self.words.get(id as usize).map(String::as_str)
    }

    /// All words, in id order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Checks that this vocabulary has the `expected` size of a model; `what` names the
    /// vocabulary in the error.
    pub fn check_size(&self, expected: usize, what: impl Into<String>) -> Result<()> {
        if self.len() == expected {
            Ok(())
        } else {
            Err(Error::VocabularyMismatch {
                what: what.into(),
                expected,
                found: self.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tokenizer::tokenize;

    #[test]
    fn specials_first_then_by_frequency() {
        let tokens = tokenize("b a a\nc b a\n");
        let vocab = Vocabulary::build(tokens.iter().copied(), None).unwrap();
        assert_eq!(vocab.words(), [EOS, UNK, "a", "b", "c"]);
        assert_eq!(vocab.eos_id(), 0);
        assert_eq!(vocab.unk_id(), 1);
        assert_eq!(vocab.encode(["a", "zebra", EOS]), [2, 1, 0]);
        assert_eq!(vocab.word(4), Some("c"));
        assert_eq!(vocab.word(5), None);
    }

    #[test]
    fn ties_keep_first_occurrence_order() {
        let vocab = Vocabulary::build(["y", "x", "z", "x", "y"], None).unwrap();
        assert_eq!(vocab.words(), [EOS, UNK, "y", "x", "z"]);
    }

    #[test]
    fn cap_keeps_most_frequent_and_maps_rest_to_unk() {
        let tokens = ["a", "b", "b", "c", "c", "c", UNK];
        let vocab = Vocabulary::build(tokens, Some(3)).unwrap();
        assert_eq!(vocab.words(), [EOS, UNK, "c"]);
        assert_eq!(vocab.encode(tokens), [1, 1, 1, 2, 2, 2, 1]);
        assert!(matches!(
            Vocabulary::build(tokens, Some(1)),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn save_load_round_trip() {
        let path = std::env::temp_dir().join(format!("amq-vocab-{}.txt", std::process::id()));
        let vocab = Vocabulary::build(["the", "cat", "the"], None).unwrap();
        vocab.save(&path).unwrap();
        assert_eq!(Vocabulary::load(&path).unwrap(), vocab);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn malformed_files_are_rejected() {
        let src = Path::new("v.txt");
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for bad in [
            words(&[EOS, UNK, "a", "a"]),
            words(&[EOS, "a"]),
            words(&[EOS, UNK, ""]),
            words(&[EOS, UNK, "a b"]),
        ] {
            assert!(
                matches!(
                    Vocabulary::from_words(bad.clone(), src),
                    Err(Error::BadVocabulary { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn size_check_is_a_typed_mismatch() {
        let vocab = Vocabulary::build(["a"], None).unwrap();
        assert!(vocab.check_size(3, "v").is_ok());
        let err = vocab.check_size(10_000, "vocab.txt").unwrap_err();
        assert!(matches!(
            err,
            Error::VocabularyMismatch {
                expected: 10_000,
                found: 3,
                ..
            }
        ));
    }
}
