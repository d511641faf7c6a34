//! Hugging Face chat templates (`tokenizer_config.json`'s `chat_template`) rendered with
//! minijinja, configured the way transformers configures Jinja2.
//!
//! transformers renders with `ImmutableSandboxedEnvironment(trim_blocks=True,
//! lstrip_blocks=True, extensions=[loopcontrols])`, adds `raise_exception`, `strftime_now`
//! and a `tojson` filter that is Python's `json.dumps`, and passes `messages`, `tools`,
//! `documents`, `add_generation_prompt` and the special-token strings (`bos_token`,
//! `eos_token`, ...). Templates also call Python string and dict methods (`.strip()`,
//! `.startswith()`, `.items()`, ...), provided here by `minijinja-contrib`'s `pycompat`.
//! The `{% generation %}` marker (transformers' assistant-mask extension) is accepted and
//! ignored.

use std::collections::BTreeMap;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};

use crate::error::{DataError, Result};
use crate::python_json::{PythonJsonStyle, to_python_json};
use crate::records::Message;
use crate::strftime::strftime_now;

const TEMPLATE_NAME: &str = "chat_template";

/// A compiled chat template.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    env: Environment<'static>,
}

/// Template instructions one render may run (minijinja fuel): far above any real chat
/// template over a long conversation, far below a loop that would never end.
pub const MAX_TEMPLATE_FUEL: u64 = 50_000_000;

/// The largest `tojson(indent=...)` a template may ask for (each nesting level repeats it).
pub const MAX_TOJSON_INDENT: usize = 64;

/// What a render needs besides the messages.
#[derive(Debug, Clone, Default)]
pub struct ChatTemplateInputs {
    /// Append the header that opens an assistant turn (`<|im_start|>assistant\n`, ...).
    pub add_generation_prompt: bool,
    /// Special-token strings passed as variables: `bos_token`, `eos_token`, `pad_token`,
    /// `unk_token` (a [`crate::Tokenizer`] fills these in).
    pub special_tokens: BTreeMap<String, String>,
    /// Tool schemas (`tools` in the template; `none` when absent).
    pub tools: Option<Vec<serde_json::Value>>,
    /// Extra template variables (for example `date_string`, `enable_thinking`).
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ChatTemplate {
    /// Compiles `source`.
    pub fn new(source: impl Into<String>) -> Result<Self> {
        let source = strip_generation_tags(&source.into());
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(false);
        env.set_fuel(Some(MAX_TEMPLATE_FUEL));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", |format: String| strftime_now(&format));
        env.add_filter("tojson", tojson);
        env.add_template_owned(TEMPLATE_NAME, source.clone())
            .map_err(|e| DataError::ChatTemplate(format!("cannot compile: {}", describe(&e))))?;
        Ok(Self { source, env })
    }

    /// The template source (after removing `{% generation %}` markers).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders `messages`.
    pub fn render(&self, messages: &[Message], inputs: &ChatTemplateInputs) -> Result<String> {
        let mut ctx: Vec<(String, Value)> = Vec::new();
        for (key, value) in &inputs.extra {
            ctx.push((key.clone(), Value::from_serialize(value)));
        }
        for (key, value) in &inputs.special_tokens {
            ctx.push((key.clone(), Value::from(value.as_str())));
        }
        ctx.push(("messages".into(), Value::from_serialize(messages)));
        ctx.push((
            "add_generation_prompt".into(),
            Value::from(inputs.add_generation_prompt),
        ));
        ctx.push((
            "tools".into(),
            inputs
                .tools
                .as_ref()
                .map_or(Value::from(()), Value::from_serialize),
        ));
        ctx.push(("documents".into(), Value::from(())));
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| DataError::ChatTemplate(describe(&e)))?;
        template
            .render(Value::from_iter(ctx))
            .map_err(|e| DataError::ChatTemplate(describe(&e)))
    }
}

/// The message of a minijinja error with its causes and template position.
fn describe(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn raise_exception(message: String) -> std::result::Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// `tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
fn tojson(value: Value, kwargs: Kwargs) -> std::result::Result<Value, Error> {
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    let separators = match separators {
        None => None,
        Some(pair) if pair.len() == 2 => Some((pair[0].clone(), pair[1].clone())),
        Some(_) => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "tojson: separators must be a pair of strings",
            ));
        }
    };
    let indent = kwargs.get::<Option<usize>>("indent")?;
    if indent.is_some_and(|n| n > MAX_TOJSON_INDENT) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("tojson: indent must be at most {MAX_TOJSON_INDENT}"),
        ));
    }
    let style = PythonJsonStyle {
        indent,
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
        separators,
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    Ok(Value::from_safe_string(to_python_json(&value, &style)?))
}

/// Removes `{% generation %}` / `{% endgeneration %}` tags (any whitespace control).
fn strip_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        // The closing `%}` starts after the opening `{%` (in `{%}` they overlap).
        let Some(len) = rest[start + 2..].find("%}").map(|i| i + 2) else {
            break;
        };
        let tag = &rest[start..start + len + 2];
        let inner =
            tag[2..tag.len() - 2].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        out.push_str(&rest[..start]);
        if inner != "generation" && inner != "endgeneration" {
            out.push_str(tag);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// The chat templates found in a `tokenizer_config.json` value: a string (named
/// `default`) or a list of `{"name", "template"}` objects.
pub fn templates_from_config(config: &serde_json::Value) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    match config.get("chat_template") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(s)) => {
            out.insert("default".to_string(), s.clone());
        }
        Some(serde_json::Value::Array(items)) => {
            for item in items {
                let name = item.get("name").and_then(serde_json::Value::as_str);
                let template = item.get("template").and_then(serde_json::Value::as_str);
                match (name, template) {
                    (Some(n), Some(t)) => {
                        out.insert(n.to_string(), t.to_string());
                    }
                    _ => {
                        return Err(DataError::Tokenizer(
                            "chat_template list items need string `name` and `template`".into(),
                        ));
                    }
                }
            }
        }
        Some(_) => {
            return Err(DataError::Tokenizer(
                "chat_template must be a string or a list of {name, template}".into(),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `chat_template` fuzz target: `{%}` sliced the tag backwards (a panic).
    #[test]
    fn overlapping_tag_delimiters_are_a_compile_error_not_a_panic() {
        assert_eq!(strip_generation_tags("a{%}b"), "a{%}b");
        assert_eq!(strip_generation_tags("{%}%}"), "{%}%}");
        assert!(ChatTemplate::new("\u{a4}{%}").is_err());
    }

    #[test]
    fn a_template_that_never_ends_runs_out_of_fuel() {
        let template = ChatTemplate::new(
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        )
        .unwrap();
        let err = template
            .render(&[], &ChatTemplateInputs::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("fuel"), "{err}");
    }

    #[test]
    fn a_huge_tojson_indent_is_refused() {
        let template = ChatTemplate::new("{{ messages | tojson(indent=1000000000000) }}").unwrap();
        let err = template
            .render(
                &[Message::new("user", "hi")],
                &ChatTemplateInputs::default(),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("indent must be at most 64"), "{err}");
    }

    fn render(source: &str, messages: &[Message], gen_prompt: bool) -> Result<String> {
        let inputs = ChatTemplateInputs {
            add_generation_prompt: gen_prompt,
            special_tokens: [("bos_token", "<s>"), ("eos_token", "</s>")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        ChatTemplate::new(source)?.render(messages, &inputs)
    }

    #[test]
    fn generation_tags_are_removed() {
        assert_eq!(
            strip_generation_tags("a{% generation %}b{%- endgeneration -%}c{% if x %}"),
            "abc{% if x %}"
        );
        let out = render(
            "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}",
            &[Message::new("user", "hi")],
            false,
        )
        .unwrap();
        assert_eq!(out, "hi");
    }

    #[test]
    fn raise_exception_is_an_error_with_its_message() {
        let err = render("{{ raise_exception('bad roles') }}", &[], false).unwrap_err();
        assert!(err.to_string().contains("bad roles"), "{err}");
    }

    #[test]
    fn syntax_error_is_reported() {
        let err = ChatTemplate::new("{% for m in messages %}").unwrap_err();
        assert!(err.to_string().contains("cannot compile"), "{err}");
    }

    #[test]
    fn tojson_kwargs() {
        let out = render("{{ {'a': 1, 'b': [true]} | tojson(indent=2) }}", &[], false).unwrap();
        assert_eq!(out, "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}");
        let err = render("{{ 1 | tojson(bogus=1) }}", &[], false).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn config_template_string_or_list() {
        let one = templates_from_config(&serde_json::json!({"chat_template": "x"})).unwrap();
        assert_eq!(one.get("default").map(String::as_str), Some("x"));
        let list = templates_from_config(&serde_json::json!({"chat_template": [
            {"name": "default", "template": "a"}, {"name": "tool_use", "template": "b"}
        ]}))
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list["tool_use"], "b");
        assert!(templates_from_config(&serde_json::json!({"chat_template": 3})).is_err());
    }
}
