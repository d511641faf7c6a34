//! sacreBLEU's default `13a` tokenizer (mteval-v13a, as used by WMT).

/// Whether Python's `str.isspace` holds for `c`, i.e. whether `str.split()` and `str.rstrip()`
/// (which sacreBLEU uses) treat it as whitespace.
///
/// That is Unicode `White_Space` ([`char::is_whitespace`]) plus the four ASCII information
/// separators U+001C–U+001F, which Python counts as whitespace (bidirectional class B/S).
pub fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
}

/// Tokenizes one segment as sacreBLEU's `BLEU(tokenize='13a', lowercase=False)` does before
/// counting n-grams: `Tokenizer13a()(segment.rstrip()).split()`.
///
/// Steps: strip trailing whitespace; delete `<skipped>` and `-\n`; `\n` → space; unescape
/// `&quot;`, `&amp;`, `&lt;`, `&gt;` (in that order, once each); then the `TokenizerRegexp`
/// rules: pad ASCII symbols other than `'`, `,`, `-`, `.` with spaces; split `.`/`,` from a
/// preceding non-digit and from a following non-digit; split `-` after a digit; finally split
/// on whitespace. Case is kept. Decimal numbers (`3.14`, `1,000`), hyphenated words and
/// apostrophes stay whole.
///
/// ```
/// use prefopt_core::bleu_tokenize;
/// assert_eq!(
///     bleu_tokenize("It costs $3.14, or 1,000 yen (2-3 days)."),
///     ["It", "costs", "$", "3.14", ",", "or", "1,000", "yen", "(", "2", "-", "3", "days", ")", "."]
/// );
/// assert_eq!(bleu_tokenize("don't e-mail &amp; U.S."), ["don't", "e-mail", "&", "U", ".", "S", "."]);
/// ```
pub fn bleu_tokenize(text: &str) -> Vec<String> {
    let mut line = text
        .trim_end_matches(is_python_whitespace)
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let chars: Vec<char> = format!(" {line} ").chars().collect();
    let chars = pad_symbols(&chars);
    // `([^0-9])([\.,])` → `\1 \2 `
    let chars = rewrite_pairs(
        &chars,
        |a, b| !is_digit(a) && is_dot_comma(b),
        |a, b| [a, ' ', b, ' '],
    );
    // `([\.,])([^0-9])` → ` \1 \2`
    let chars = rewrite_pairs(
        &chars,
        |a, b| is_dot_comma(a) && !is_digit(b),
        |a, b| [' ', a, ' ', b],
    );
    // `([0-9])(-)` → `\1 \2 `
    let chars = rewrite_pairs(
        &chars,
        |a, b| is_digit(a) && b == '-',
        |a, b| [a, ' ', b, ' '],
    );
    let out: String = chars.into_iter().collect();
    out.split(is_python_whitespace)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn is_dot_comma(c: char) -> bool {
    c == '.' || c == ','
}

/// The first rule, `([\{-\~\[-\` -\&\(-\+\:-\@\/])` → ` \1 `: the ASCII characters
/// `{|}~`, ``[\]^_` ``, space to `&`, `(` to `+`, `:` to `@`, and `/`.
fn pad_symbols(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() * 2);
    for &c in chars {
        let symbol = matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/');
        if symbol {
            out.extend([' ', c, ' ']);
        } else {
            out.push(c);
        }
    }
    out
}

/// Python's `re.sub` for a two-character pattern: scan left to right, and at each position
/// where `(chars[i], chars[i+1])` matches, emit the replacement and continue after the pair
/// (matches never overlap); elsewhere copy one character.
fn rewrite_pairs(
    chars: &[char],
    matches: impl Fn(char, char) -> bool,
    replace: impl Fn(char, char) -> [char; 4],
) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + chars.len() / 2);
    let mut i = 0;
    while i < chars.len() {
        match chars.get(i + 1) {
            Some(&b) if matches(chars[i], b) => {
                out.extend(replace(chars[i], b));
                i += 2;
            }
            _ => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_rules_do_not_overlap() {
        // Python: re.sub(r'([^0-9])([\.,])', r'\1 \2 ', 'a..') == 'a . .'
        let chars: Vec<char> = "a..".chars().collect();
        let out: String = rewrite_pairs(
            &chars,
            |a, b| !is_digit(a) && is_dot_comma(b),
            |a, b| [a, ' ', b, ' '],
        )
        .into_iter()
        .collect();
        assert_eq!(out, "a . .");
    }

    #[test]
    fn numbers_entities_and_whitespace() {
        assert_eq!(bleu_tokenize("1.5-2.0 ok."), ["1.5", "-", "2.0", "ok", "."]);
        assert_eq!(bleu_tokenize("&amp;lt; x"), ["<", "x"]);
        assert_eq!(bleu_tokenize("line-\nbreak<skipped>\n"), ["linebreak"]);
        assert_eq!(
            bleu_tokenize("a\u{1C}b\u{A0}c\u{200B}d"),
            ["a", "b", "c\u{200B}d"]
        );
        assert!(bleu_tokenize(" \t\n").is_empty());
    }
}
