//! Python's `json.dumps` formatting, for the chat templates' `tojson` filter.
//!
//! transformers defines `tojson(x, ensure_ascii=False, indent=None, separators=None,
//! sort_keys=False)` as `json.dumps(...)`. minijinja's own `tojson` emits compact JSON and
//! escapes `<`, `>`, `&` and `'` for HTML, so tool schemas rendered into a prompt would not
//! match the tokens the model saw in training. This module writes the exact Python layout.

use minijinja::value::{Value, ValueKind};

/// Options of Python's `json.dumps` that HF templates use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PythonJsonStyle {
    /// `indent=None` (one line) or a number of spaces.
    pub indent: Option<usize>,
    /// `sort_keys=True`.
    pub sort_keys: bool,
    /// `separators=(item, key)`; `None` means Python's default (`", "`/`": "` on one line,
    /// `","`/`": "` when indenting).
    pub separators: Option<(String, String)>,
    /// `ensure_ascii=True` escapes every non-ASCII character as `\uXXXX`.
    pub ensure_ascii: bool,
}

/// Serializes a template value exactly as Python's `json.dumps` would with `style`.
///
/// Maps keep their insertion order (minijinja is built with `preserve_order`), as Python
/// dicts do. Undefined values are written as `null`.
pub fn to_python_json(value: &Value, style: &PythonJsonStyle) -> Result<String, minijinja::Error> {
    let (item_sep, key_sep) = match &style.separators {
        Some((item, key)) => (item.clone(), key.clone()),
        None if style.indent.is_some() => (",".to_string(), ": ".to_string()),
        None => (", ".to_string(), ": ".to_string()),
    };
    let mut writer = Writer {
        style,
        item_sep: &item_sep,
        key_sep: &key_sep,
        out: String::new(),
    };
    writer.value(value, 0)?;
    Ok(writer.out)
}

struct Writer<'a> {
    style: &'a PythonJsonStyle,
    item_sep: &'a str,
    key_sep: &'a str,
    out: String,
}

impl Writer<'_> {
    fn newline_indent(&mut self, depth: usize) {
        if let Some(width) = self.style.indent {
            self.out.push('\n');
            self.out.extend(std::iter::repeat_n(' ', width * depth));
        }
    }

    fn value(&mut self, value: &Value, depth: usize) -> Result<(), minijinja::Error> {
        match value.kind() {
            ValueKind::Undefined | ValueKind::None => self.out.push_str("null"),
            ValueKind::Bool => self
                .out
                .push_str(if value.is_true() { "true" } else { "false" }),
            ValueKind::Number => self.number(value),
            ValueKind::String => self.string(value.as_str().unwrap_or_default()),
            ValueKind::Map => {
                let mut keys: Vec<Value> = value.try_iter()?.collect();
                if self.style.sort_keys {
                    keys.sort();
                }
                if keys.is_empty() {
                    self.out.push_str("{}");
                    return Ok(());
                }
                self.out.push('{');
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(self.item_sep);
                    }
                    self.newline_indent(depth + 1);
                    match key.as_str() {
                        Some(k) => self.string(k),
                        None => self.string(&key.to_string()),
                    }
                    self.out.push_str(self.key_sep);
                    let item = value.get_item(key)?;
                    self.value(&item, depth + 1)?;
                }
                self.newline_indent(depth);
                self.out.push('}');
            }
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = value.try_iter()?.collect();
                if items.is_empty() {
                    self.out.push_str("[]");
                    return Ok(());
                }
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(self.item_sep);
                    }
                    self.newline_indent(depth + 1);
                    self.value(item, depth + 1)?;
                }
                self.newline_indent(depth);
                self.out.push(']');
            }
            _ => self.string(&value.to_string()),
        }
        Ok(())
    }

    fn number(&mut self, value: &Value) {
        if value.is_integer() {
            self.out.push_str(&value.to_string());
            return;
        }
        match f64::try_from(value.clone()) {
            Ok(f) if f.is_nan() => self.out.push_str("NaN"),
            Ok(f) if f.is_infinite() => {
                self.out
                    .push_str(if f > 0.0 { "Infinity" } else { "-Infinity" })
            }
            // Python prints integral floats with a trailing ".0".
            Ok(f) if f == f.trunc() && f.abs() < 1e16 => self.out.push_str(&format!("{f:.1}")),
            Ok(f) => self.out.push_str(&format!("{f}")),
            Err(_) => self.out.push_str(&value.to_string()),
        }
    }

    fn string(&mut self, s: &str) {
        let out = &mut self.out;
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if self.style.ensure_ascii && !c.is_ascii() => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_value(expr: &str) -> Value {
        let env = minijinja::Environment::new();
        env.compile_expression(expr).unwrap().eval(()).unwrap()
    }

    // Expected strings produced by Python 3 `json.dumps` with the same arguments.
    #[test]
    fn one_line_default_separators_keep_insertion_order() {
        let v = template_value(
            r#"{"name": "get_weather", "parameters": {"type": "object", "required": ["city"]}, "n": 1.0, "k": 2, "x": 0.25, "ok": true, "none": none, "s": "a<b>&'é\n"}"#,
        );
        assert_eq!(
            to_python_json(&v, &PythonJsonStyle::default()).unwrap(),
            r#"{"name": "get_weather", "parameters": {"type": "object", "required": ["city"]}, "n": 1.0, "k": 2, "x": 0.25, "ok": true, "none": null, "s": "a<b>&'é\n"}"#
        );
    }

    #[test]
    fn indented_sorted_and_ascii() {
        let v = template_value(r#"{"b": [1, {"z": []}], "a": "\u00e9"}"#);
        let style = PythonJsonStyle {
            indent: Some(2),
            sort_keys: true,
            separators: None,
            ensure_ascii: true,
        };
        assert_eq!(
            to_python_json(&v, &style).unwrap(),
            "{\n  \"a\": \"\\u00e9\",\n  \"b\": [\n    1,\n    {\n      \"z\": []\n    }\n  ]\n}"
        );
    }
}
