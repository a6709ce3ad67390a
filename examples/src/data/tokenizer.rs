//! Word-level tokenization of pre-tokenized corpora (Penn Treebank, WikiText).
//!
//! Both corpora are already tokenized: words are separated by whitespace. Every line ends a
//! sentence (PTB) or paragraph (WikiText), so each line contributes its words followed by
//! [`EOS`] — blank lines too, which is how the published token counts are made (PTB train:
//! 887,521 words + 42,068 lines = 929,589 tokens).

/// End-of-line token, appended to every line.
pub const EOS: &str = "<eos>";
/// Out-of-vocabulary token (PTB and WikiText already contain it).
pub const UNK: &str = "<unk>";

/// The tokens of `text`: whitespace-separated words, plus [`EOS`] at the end of every line.
pub fn tokenize(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    for line in text.lines() {
        tokens.extend(line.split_whitespace());
        tokens.push(EOS);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_then_eos_per_line() {
        let text = " the cat sat \n on the mat \n";
        assert_eq!(
            tokenize(text),
            ["the", "cat", "sat", EOS, "on", "the", "mat", EOS]
        );
    }

    #[test]
    fn blank_lines_and_missing_final_newline() {
        // A blank line is an empty paragraph: one <eos>. The last line counts without "\n".
        assert_eq!(tokenize("a\n \nb"), ["a", EOS, EOS, "b", EOS]);
        assert!(tokenize("").is_empty());
    }

    #[test]
    fn tabs_and_crlf_are_whitespace() {
        assert_eq!(tokenize("a\tb\r\nc\r\n"), ["a", "b", EOS, "c", EOS]);
    }
}
