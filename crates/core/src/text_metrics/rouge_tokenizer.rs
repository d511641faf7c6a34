//! The default tokenizer of Google's `rouge_score` package, without stemmer.

/// Splits `text` into ROUGE tokens exactly as `rouge_score.tokenize.tokenize(text, None)` does
/// (its `DefaultTokenizer(use_stemmer=False)`, the one Hugging Face `evaluate`'s "rouge" uses).
///
/// The text is lowercased with Unicode's full case mapping (Python's `str.lower`), every
/// character outside ASCII `[a-z0-9]` becomes a separator, and empty pieces are dropped. So
/// punctuation splits words (`"don't"` → `don`, `t`) and non-ASCII letters are *removed*
/// (`"café"` → `caf`; CJK text yields no tokens at all). The only non-ASCII characters that
/// survive are those whose lowercase is ASCII: `İ` (U+0130 → `i` + a combining dot, which
/// then separates) and the Kelvin sign `K` (U+212A → `k`).
///
/// ```
/// use prefopt_core::rouge_tokenize;
/// assert_eq!(rouge_tokenize("Don't STOP, café 3.14!"), ["don", "t", "stop", "caf", "3", "14"]);
/// assert!(rouge_tokenize("我喜欢 — …").is_empty());
/// ```
pub fn rouge_tokenize(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rouge_tokenize;

    #[test]
    fn punctuation_case_and_unicode() {
        assert_eq!(
            rouge_tokenize("  Hello,World!! x_y\tz\n"),
            ["hello", "world", "x", "y", "z"]
        );
        assert_eq!(
            rouge_tokenize("İstanbul 300\u{212A}"),
            ["i", "stanbul", "300k"]
        );
        assert_eq!(rouge_tokenize("naïve ＡＢＣ"), ["na", "ve"]);
        assert!(rouge_tokenize("").is_empty());
        assert!(rouge_tokenize("?! ... ---").is_empty());
    }
}
