//! Parsing the judge's answer: the `<analysis>[...]</analysis>` and `<score>[...]</score>`
//! lists, written as Python list literals (the official parser uses `ast.literal_eval`).

use serde::{Deserialize, Serialize};

/// A parsed judge answer: one analysis string and one 0/1 score per test point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedAnswer {
    /// Per-test-point analysis.
    pub analysis: Vec<String>,
    /// Per-test-point score, 0 or 1.
    pub scores: Vec<u8>,
}

/// Why an answer did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// The `<tag>…</tag>` pair is missing.
    #[error("no <{0}>…</{0}> in the answer")]
    MissingTag(&'static str),
    /// The text inside the tag is not a list literal.
    #[error("<{tag}> is not a list literal: {message}")]
    BadList {
        /// Which tag.
        tag: &'static str,
        /// The literal parser's message.
        message: String,
    },
    /// A score is not 0 or 1.
    #[error("score {position} is `{value}`, not 0 or 1")]
    BadScore {
        /// 0-based position in the list.
        position: usize,
        /// The value as written.
        value: String,
    },
    /// List lengths differ from the number of test points.
    #[error("{testpoints} test points but {analysis} analyses and {scores} scores")]
    LengthMismatch {
        /// Expected length.
        testpoints: usize,
        /// `<analysis>` length.
        analysis: usize,
        /// `<score>` length.
        scores: usize,
    },
}

/// Parses a judge answer for a prompt with `testpoints` test points.
///
/// Like the official parser: the first `<analysis>` and `<score>` pairs are taken, both must be
/// list literals and both lengths must equal the number of test points. Unlike it, a score other
/// than 0/1 (`True`/`False`, `1.0`/`0.0` are accepted) is a parse failure rather than a silent 0.
pub fn parse_answer(text: &str, testpoints: usize) -> Result<ParsedAnswer, AnswerError> {
    let analysis_src = tag_body(text, "analysis").ok_or(AnswerError::MissingTag("analysis"))?;
    let score_src = tag_body(text, "score").ok_or(AnswerError::MissingTag("score"))?;
    let bad = |tag: &'static str| move |message: String| AnswerError::BadList { tag, message };
    let analysis = parse_list(analysis_src).map_err(bad("analysis"))?;
    let score_items = parse_list(score_src).map_err(bad("score"))?;
    if analysis.len() != testpoints || score_items.len() != testpoints {
        return Err(AnswerError::LengthMismatch {
            testpoints,
            analysis: analysis.len(),
            scores: score_items.len(),
        });
    }
    let scores = score_items
        .iter()
        .enumerate()
        .map(|(position, v)| match v {
            Literal::Int(0) | Literal::Bool(false) => Ok(0),
            Literal::Int(1) | Literal::Bool(true) => Ok(1),
            Literal::Float(f) if *f == 0.0 => Ok(0),
            Literal::Float(f) if *f == 1.0 => Ok(1),
            other => Err(AnswerError::BadScore {
                position,
                value: other.to_string(),
            }),
        })
        .collect::<Result<Vec<u8>, _>>()?;
    Ok(ParsedAnswer {
        analysis: analysis.into_iter().map(|l| l.into_text()).collect(),
        scores,
    })
}

fn tag_body<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(text[start..start + len].trim())
}

/// A Python literal inside a list.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
}

impl Literal {
    fn into_text(self) -> String {
        match self {
            Self::Str(s) => s,
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Str(s) => write!(f, "{s:?}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Self::None => f.write_str("None"),
        }
    }
}

/// Parses a flat Python (or JSON) list literal of strings, numbers, booleans and `None`.
fn parse_list(src: &str) -> Result<Vec<Literal>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut p = 0;
    let skip_ws = |p: &mut usize| {
        while *p < chars.len() && chars[*p].is_whitespace() {
            *p += 1;
        }
    };
    skip_ws(&mut p);
    if chars.get(p) != Some(&'[') {
        return Err("does not start with `[`".to_string());
    }
    p += 1;
    let mut items = Vec::new();
    loop {
        skip_ws(&mut p);
        match chars.get(p) {
            None => return Err("unterminated list".to_string()),
            Some(']') => {
                p += 1;
                break;
            }
            _ => {}
        }
        let item = parse_item(&chars, &mut p)?;
        items.push(item);
        skip_ws(&mut p);
        match chars.get(p) {
            Some(',') => p += 1,
            Some(']') => {
                p += 1;
                break;
            }
            Some(c) => return Err(format!("expected `,` or `]`, found `{c}`")),
            None => return Err("unterminated list".to_string()),
        }
    }
    skip_ws(&mut p);
    if p != chars.len() {
        return Err("text after the closing `]`".to_string());
    }
    Ok(items)
}

fn parse_item(chars: &[char], p: &mut usize) -> Result<Literal, String> {
    let c = chars[*p];
    if c == '\'' || c == '"' {
        // Adjacent literals concatenate, as in Python.
        let mut s = parse_string(chars, p)?;
        loop {
            let mut q = *p;
            while q < chars.len() && chars[q].is_whitespace() {
                q += 1;
            }
            if q < chars.len() && (chars[q] == '\'' || chars[q] == '"') {
                *p = q;
                s.push_str(&parse_string(chars, p)?);
            } else {
                return Ok(Literal::Str(s));
            }
        }
    }
    let start = *p;
    while *p < chars.len() && !matches!(chars[*p], ',' | ']') && !chars[*p].is_whitespace() {
        *p += 1;
    }
    let word: String = chars[start..*p].iter().collect();
    match word.as_str() {
        "True" | "true" => Ok(Literal::Bool(true)),
        "False" | "false" => Ok(Literal::Bool(false)),
        "None" | "null" => Ok(Literal::None),
        _ => {
            if let Ok(i) = word.parse::<i64>() {
                Ok(Literal::Int(i))
            } else if let Ok(x) = word.parse::<f64>() {
                Ok(Literal::Float(x))
            } else {
                Err(format!("`{word}` is not a literal"))
            }
        }
    }
}

fn parse_string(chars: &[char], p: &mut usize) -> Result<String, String> {
    let quote = chars[*p];
    *p += 1;
    let mut s = String::new();
    while *p < chars.len() {
        let c = chars[*p];
        *p += 1;
        if c == quote {
            return Ok(s);
        }
        if c == '\n' {
            return Err("newline inside a string".to_string());
        }
        if c != '\\' {
            s.push(c);
            continue;
        }
        let Some(&e) = chars.get(*p) else {
            break;
        };
        *p += 1;
        match e {
            'n' => s.push('\n'),
            't' => s.push('\t'),
            'r' => s.push('\r'),
            '0' => s.push('\0'),
            '\\' | '\'' | '"' => s.push(e),
            '\n' => {}
            'u' | 'x' => {
                let n = if e == 'u' { 4 } else { 2 };
                let hex: String = chars.get(*p..*p + n).unwrap_or_default().iter().collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad escape `\\{e}{hex}`"))?;
                *p += n;
                s.push(code);
            }
            other => {
                // Python keeps unknown escapes verbatim.
                s.push('\\');
                s.push(other);
            }
        }
    }
    Err("unterminated string".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "<description>\n<prompt>p</prompt>\n<checkpoint>['Style', 'Attribute - Color']</checkpoint>\n<analysis>['The painting uses ink washes, it\\'s clear.', \"Red, as asked\"]</analysis>\n<score>[1, 0]</score>\n</description>";

    #[test]
    fn parses_python_lists() {
        let a = parse_answer(GOOD, 2).unwrap();
        assert_eq!(a.scores, [1, 0]);
        assert_eq!(a.analysis[0], "The painting uses ink washes, it's clear.");
        assert_eq!(a.analysis[1], "Red, as asked");
    }

    #[test]
    fn json_lists_and_python_bools() {
        let t = r#"<analysis>["a", "b", "c"]</analysis><score>[True, 0.0, 1]</score>"#;
        assert_eq!(parse_answer(t, 3).unwrap().scores, [1, 0, 1]);
    }

    #[test]
    fn failures_are_specific() {
        assert_eq!(
            parse_answer(GOOD, 3),
            Err(AnswerError::LengthMismatch {
                testpoints: 3,
                analysis: 2,
                scores: 2
            })
        );
        assert_eq!(
            parse_answer("<analysis>['a']</analysis>", 1),
            Err(AnswerError::MissingTag("score"))
        );
        assert!(matches!(
            parse_answer("<analysis>['a']</analysis><score>[2]</score>", 1),
            Err(AnswerError::BadScore { position: 0, .. })
        ));
        assert!(matches!(
            parse_answer("<analysis>[it's]</analysis><score>[1]</score>", 1),
            Err(AnswerError::BadList {
                tag: "analysis",
                ..
            })
        ));
        assert!(matches!(
            parse_answer("<analysis>['a'</analysis><score>[1]</score>", 1),
            Err(AnswerError::BadList { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn roundtrip_scores(scores in proptest::collection::vec(0u8..2, 1..12)) {
            let analysis: Vec<String> = scores.iter().map(|s| format!("'it''s {s}, ok'")).collect();
            let text = format!(
                "<analysis>[{}]</analysis>\n<score>{:?}</score>",
                analysis.join(", "),
                scores
            );
            let parsed = parse_answer(&text, scores.len()).unwrap();
            proptest::prop_assert_eq!(&parsed.scores, &scores);
            proptest::prop_assert!(parsed.analysis.iter().all(|a| a.starts_with("its ")));
        }
    }
}
