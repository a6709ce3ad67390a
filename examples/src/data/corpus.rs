//! Finding and reading the corpus files of a data directory (plain text or gzip).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// A corpus split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training text.
    Train,
    /// Validation text (model selection, learning-rate schedule).
    Valid,
    /// Test text (reported perplexity).
    Test,
}

impl Split {
    /// All splits, in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// `"train"`, `"valid"` or `"test"`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

/// File names tried for `split`, in order: Mikolov's PTB names, WikiText's names and bare
/// split names, each plain and gzipped.
pub fn candidate_names(split: Split) -> Vec<String> {
    let s = split.name();
    let stems = [
        format!("ptb.{s}.txt"),
        format!("wiki.{s}.tokens"),
        format!("{s}.txt"),
    ];
    stems
        .iter()
        .flat_map(|stem| [stem.clone(), format!("{stem}.gz")])
        .collect()
}

/// The path of `split` in `dir` (the first of [`candidate_names`] that exists).
///
/// Errors: [`Error::MissingDataDir`] when `dir` is not a directory, [`Error::MissingSplit`]
/// when none of the names exists.
pub fn locate_split(dir: &Path, split: Split) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::MissingDataDir {
            path: dir.to_path_buf(),
        });
    }
    let names = candidate_names(split);
    names
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| Error::MissingSplit {
            dir: dir.to_path_buf(),
            split: split.name(),
            candidates: names.join(", "),
        })
}

/// Reads a UTF-8 text file; a name ending in `.gz` is decompressed.
pub fn read_text(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut text = String::new();
    let gzipped = path.extension().is_some_and(|ext| ext == "gz");
    let read = if gzipped {
        MultiGzDecoder::new(BufReader::new(file)).read_to_string(&mut text)
    } else {
        BufReader::new(file).read_to_string(&mut text)
    };
    read.map_err(|e| Error::io(path, e))?;
    Ok(text)
}

/// The three splits of a corpus as raw text.
#[derive(Debug, Clone)]
pub struct CorpusText {
    /// The directory the files came from.
    pub dir: PathBuf,
    /// Training text.
    pub train: String,
    /// Validation text.
    pub valid: String,
    /// Test text.
    pub test: String,
}

impl CorpusText {
    /// Reads all three splits of the corpus in `dir`.
    pub fn read_dir(dir: &Path) -> Result<Self> {
        let read = |split| read_text(&locate_split(dir, split)?);
        Ok(Self {
            dir: dir.to_path_buf(),
            train: read(Split::Train)?,
            valid: read(Split::Valid)?,
            test: read(Split::Test)?,
        })
    }

    /// The text of `split`.
    pub fn split(&self, split: Split) -> &str {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "burn-amq-examples-corpus-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_plain_and_gzip() {
        let dir = temp_dir("read");
        std::fs::write(dir.join("ptb.train.txt"), " a b \n").unwrap();
        let mut gz = flate2::write::GzEncoder::new(
            File::create(dir.join("ptb.valid.txt.gz")).unwrap(),
            flate2::Compression::default(),
        );
        gz.write_all(b" c d \n").unwrap();
        gz.finish().unwrap();
        std::fs::write(dir.join("test.txt"), "e\n").unwrap();
        let corpus = CorpusText::read_dir(&dir).unwrap();
        assert_eq!(corpus.train, " a b \n");
        assert_eq!(corpus.valid, " c d \n");
        assert_eq!(corpus.split(Split::Test), "e\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_dir_and_missing_split_are_typed() {
        let dir = temp_dir("missing");
        let absent = dir.join("nope");
        assert!(matches!(
            CorpusText::read_dir(&absent),
            Err(Error::MissingDataDir { path }) if path == absent
        ));
        std::fs::write(dir.join("ptb.train.txt"), "a\n").unwrap();
        let err = CorpusText::read_dir(&dir).unwrap_err();
        assert!(
            matches!(&err, Error::MissingSplit { split: "valid", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("ptb.valid.txt.gz"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_gzip_is_an_io_error() {
        let dir = temp_dir("corrupt");
        let path = dir.join("ptb.train.txt.gz");
        std::fs::write(&path, b"not gzip at all").unwrap();
        assert!(matches!(read_text(&path), Err(Error::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
