//! The judge prompt: one text per (prompt, image), built from a template with the placeholders
//! `{prompt}`, `{testpoint}`, `{explanation}` and `{test_explanation}` (Python `str.format`
//! names, so the official template text can be dropped in unchanged through a [`Protocol`] file).
//!
//! The built-in English and Chinese templates follow the structure of the official
//! `SYSTEM_PROMPT_EN_TEMPLATE` / `_ZH_` described in the research file (§3.5): an objective
//! "image description system" persona, the prompt in 「」, the Python-repr list of test points, a
//! `Checkpoints Defination:「…」` block of generic definitions, a `Checkpoints Description:「…」`
//! block of prompt-specific descriptions, per-test-point analysis then binary 0/1 scores, the
//! visible-content-only constraints, and the `<description><prompt><checkpoint><analysis><score>`
//! output format. The wording and the definitions are ours, not verified word for word against
//! the official text; `docs/unigenbench.md` says how to use the official text instead.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::unigenbench::dimension::SubDimension;
use crate::unigenbench::suite::{Language, Prompt};
use crate::{Error, Result};

const EN_TEMPLATE: &str = "You are a precise and objective image description system that writes in English. You will receive a prompt used for text-to-image generation and the image generated from it, together with a set of evaluation checkpoints and their explanations, which define how the image should relate to the prompt. Judge, checkpoint by checkpoint, whether the generated image meets what the prompt requires.

For the image, complete the following steps in order:

1. The prompt of the generated image is: 「{prompt}」. Analyse the image content in detail from each of the angles in {testpoint}. The checkpoints are defined as follows: {explanation}. What each checkpoint means for this prompt: {test_explanation}. Analyse separately, for every checkpoint, whether the image meets its requirement.

2. Based on that analysis, decide for each checkpoint whether the generated image is visually consistent with the prompt. Give the checkpoint a score of 1 if the image meets it, and 0 otherwise.

Constraints:
- Describe only content that is directly visible; do not interpret, speculate or infer a background story.
- Keep to visual details that can be verified.
- Leave out anything uncertain or ambiguous.
- Do not describe abstract entities, emotions or speculation, even if the input mentions them.

Follow this output format strictly:

<description>
    <prompt>{prompt}</prompt>
    <checkpoint>{testpoint}</checkpoint>
    <analysis>A list in square brackets `[]` with one string per checkpoint holding that checkpoint's detailed analysis from step 1. **Make sure the list has as many elements as there are checkpoints.**</analysis>
    <score>A list in square brackets `[]` with one binary score (0 or 1) per checkpoint from step 2. **Make sure the list has as many elements as there are checkpoints.** Each element is 0 or 1 and says whether the checkpoint is met.</score>
</description>
";

const ZH_TEMPLATE: &str = "你是一个精确、客观的中文图像描述系统。我会给你一段用于生成图像的提示词和据此生成的图像，以及若干考点和考点说明，它们规定了图像与提示词之间应有的对应关系。你需要逐个考点判断生成的图像是否满足提示词在该考点上的要求。

请对这张图像依次完成以下步骤：
1. 生成这张图像的提示词是「{prompt}」。请从{testpoint}中的各个角度对图像内容做详细分析。考点的定义如下：{explanation}。各考点在这条提示词中的具体含义如下：{test_explanation}。请逐个考点分析图像是否满足要求。
2. 根据上面的分析，逐个考点判断生成的图像在该考点上是否与提示词一致：满足要求记 1 分，否则记 0 分。

约束：
- 只描述直接可见的内容，不要解读、推测或编造背景故事。
- 只关注能够确定的视觉细节。
- 略去不确定或不清楚的细节。
- 即使输入中提到，也不要描述抽象实体、情感或推测。

请严格按照以下格式输出：

<description>
    <prompt>{prompt}</prompt>
    <checkpoint>{testpoint}</checkpoint>
    <analysis>按步骤 1 对每个考点的详细分析，写成一个方括号列表，每个元素是一个字符串，**列表长度必须等于考点数量**</analysis>
    <score>按步骤 2 对每个考点的打分，写成一个方括号列表，每个元素为 0 或 1，**列表长度必须等于考点数量**</score>
</description>
";

/// Our own one-line definitions (English, Chinese) of each test point.
fn builtin_definition(sub: SubDimension, language: Language) -> &'static str {
    use SubDimension as S;
    let (en, zh) = match sub {
        S::Style => (
            "Art, painting, photography or design styles, including the styles of named artists",
            "艺术、绘画、摄影或设计风格，包括指定艺术家的风格",
        ),
        S::WorldKnowledge => (
            "Knowledge of famous people, buildings and landmarks, basic domain facts and popular sayings",
            "名人、建筑与地标、基础领域知识和流行语",
        ),
        S::AttributeQuantity => (
            "Counting: depicting three or more items in exactly the number asked for",
            "数量：准确画出三个或更多物体的指定数量",
        ),
        S::AttributeExpression => (
            "Facial expressions that convey a clear emotion, not just a movement of the face",
            "表达明确情绪的面部表情，而不只是脸部动作",
        ),
        S::AttributeMaterial => ("Materials and textures of objects", "物体的材质与质感"),
        S::AttributeSize => (
            "Size, height, length, thickness or width of subjects",
            "主体的大小、高低、长短、粗细或宽窄",
        ),
        S::AttributeShape => ("Shapes of objects", "物体的形状"),
        S::AttributeColor => ("Colours of objects", "物体的颜色"),
        S::ActionHand => (
            "Hand structure in the action: no missing, extra, broken or distorted fingers",
            "动作中的手部结构：手指无缺失、多余、崩坏或扭曲",
        ),
        S::ActionFullBody => (
            "Whole-body actions of people or anthropomorphic characters, such as running, diving or swinging",
            "人物或拟人角色的全身动作，如奔跑、跳水、荡秋千",
        ),
        S::ActionAnimal => ("Actions performed by animals", "动物做出的动作"),
        S::ActionNonContact => (
            "Interactions between entities without physical contact, such as two people looking at each other",
            "实体之间没有身体接触的互动，例如两人对视",
        ),
        S::ActionContact => (
            "Interactions between entities that involve physical contact",
            "实体之间有身体接触的互动",
        ),
        S::ActionState => (
            "A lasting state of an entity, usually expressed by a verb",
            "实体持续的状态，通常用一个动词表达",
        ),
        S::RelationshipComposition => (
            "An entity made up of one or more other entities",
            "一个实体由一种或几种其他实体构成",
        ),
        S::RelationshipSimilarity => (
            "Resemblance between different entities",
            "不同实体之间的相似之处",
        ),
        S::RelationshipInclusion => (
            "A container, possibly a flat one such as a painting on a wall, holding an entity",
            "容器（也可以是平面的，如墙上的画）包含某个实体",
        ),
        S::RelationshipComparison => (
            "Comparison of an attribute between entities",
            "实体之间某种属性的比较",
        ),
        S::CompoundImagination => (
            "Things that cannot happen in real life",
            "现实中不可能发生的事物",
        ),
        S::CompoundFeatureMatching => (
            "Several entities, each with its own attributes, without the attributes being mixed up",
            "多个实体各自具有不同的属性，且不相互混淆",
        ),
        S::GrammarPronounReference => (
            "Resolving possibly misleading pronouns to the right entity",
            "把可能有迷惑性的代词对应到正确的实体",
        ),
        S::GrammarConsistency => (
            "An attribute shared by several entities",
            "多个实体共有的属性",
        ),
        S::GrammarNegation => (
            "Understanding negation: what the prompt says is absent must be absent",
            "理解否定：提示词说没有的东西必须不出现",
        ),
        S::Layout2d => (
            "Placement and arrangement of entities in two-dimensional space",
            "实体在二维空间中的摆放与布局",
        ),
        S::Layout3d => (
            "Placement and arrangement of entities in three-dimensional space",
            "实体在三维空间中的摆放与布局",
        ),
        S::LogicalReasoning => (
            "Understanding the intent of the prompt and reasoning about it",
            "深入理解提示词的意图并进行推理",
        ),
        S::TextGeneration => (
            "Rendering the requested text exactly, with nothing missing or added",
            "准确生成要求的文字，不缺字也不多字",
        ),
    };
    match language {
        Language::English => en,
        Language::Chinese => zh,
    }
}

/// Overrides for the judge protocol, read from a JSON file (`--protocol FILE`). Every field is
/// optional; a missing one keeps the built-in value. Use it to run with the official template
/// text and definitions word for word.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// The template, with `{prompt}`, `{testpoint}`, `{explanation}`, `{test_explanation}`
    /// (`{{`/`}}` stand for literal braces, as in Python).
    #[serde(default)]
    pub template: Option<String>,
    /// Header of the definitions block (built-in: `Checkpoints Defination`, spelled as the
    /// research file quotes the official text; Chinese: `考点定义`).
    #[serde(default)]
    pub definition_header: Option<String>,
    /// Header of the descriptions block (built-in: `Checkpoints Description`; Chinese: `考点描述`).
    #[serde(default)]
    pub description_header: Option<String>,
    /// Definitions by test-point string as written in the CSV.
    #[serde(default)]
    pub definitions: BTreeMap<String, String>,
}

impl Protocol {
    /// Reads a protocol file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }
}

/// Renders judge prompts for one suite language.
#[derive(Debug, Clone)]
pub struct JudgeTemplate {
    language: Language,
    template: String,
    definition_header: String,
    description_header: String,
    definitions: BTreeMap<String, String>,
}

impl JudgeTemplate {
    /// The built-in template for `language`.
    pub fn builtin(language: Language) -> Self {
        Self::with_protocol(language, Protocol::default()).expect("built-in template is valid")
    }

    /// The built-in template with `protocol`'s overrides. Fails on an unknown placeholder.
    pub fn with_protocol(language: Language, protocol: Protocol) -> Result<Self> {
        let (template, dh, sh) = match language {
            Language::English => (
                EN_TEMPLATE,
                "Checkpoints Defination",
                "Checkpoints Description",
            ),
            Language::Chinese => (ZH_TEMPLATE, "考点定义", "考点描述"),
        };
        let template = protocol.template.unwrap_or_else(|| template.to_string());
        // Validate placeholders once.
        substitute(&template, &|name| {
            ["prompt", "testpoint", "explanation", "test_explanation"]
                .contains(&name)
                .then(String::new)
        })?;
        Ok(Self {
            language,
            template,
            definition_header: protocol.definition_header.unwrap_or_else(|| dh.to_string()),
            description_header: protocol
                .description_header
                .unwrap_or_else(|| sh.to_string()),
            definitions: protocol.definitions,
        })
    }

    /// The language of the prompts it renders.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The judge text for `prompt`.
    pub fn render(&self, prompt: &Prompt) -> String {
        let testpoint = python_list_repr(prompt.testpoints.iter().map(|t| t.raw.as_str()));
        let mut explanation = format!("{}:「", self.definition_header);
        for t in &prompt.testpoints {
            let def = self
                .definitions
                .get(&t.raw)
                .map(String::as_str)
                .unwrap_or_else(|| builtin_definition(t.sub, self.language));
            explanation.push_str(&format!("\n{}: {def}", t.raw));
        }
        explanation.push_str("\n」");
        let mut test_explanation = format!("{}:「", self.description_header);
        for t in &prompt.testpoints {
            test_explanation.push_str(&format!("\n{}: {}", t.raw, t.description));
        }
        test_explanation.push_str("\n」");
        substitute(&self.template, &|name| match name {
            "prompt" => Some(prompt.text.clone()),
            "testpoint" => Some(testpoint.clone()),
            "explanation" => Some(explanation.clone()),
            "test_explanation" => Some(test_explanation.clone()),
            _ => None,
        })
        .expect("placeholders validated at construction")
    }
}

/// Python `str.format` with named fields only.
fn substitute(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        rest = &rest[i + 1..];
        if rest.as_bytes().first() == Some(&c) {
            out.push(c as char);
            rest = &rest[1..];
            continue;
        }
        if c == b'}' {
            return Err(Error::Config(
                "template: single `}` (write `}}`)".to_string(),
            ));
        }
        let end = rest
            .find('}')
            .ok_or_else(|| Error::Config("template: unclosed `{`".to_string()))?;
        let name = &rest[..end];
        let v = value(name).ok_or_else(|| {
            Error::Config(format!(
                "template: unknown placeholder `{{{name}}}` (known: prompt, testpoint, \
                 explanation, test_explanation)"
            ))
        })?;
        out.push_str(&v);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Python's `repr` of a list of strings: `['Style', 'World Knowledge']`.
pub fn python_list_repr<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<String> = items.into_iter().map(python_str_repr).collect();
    format!("[{}]", parts.join(", "))
}

fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unigenbench::suite::TestPoint;
    use crate::unigenbench::theme::{SubTheme, Theme};

    fn prompt() -> Prompt {
        Prompt {
            index: 0,
            text: "two pandas in ink".to_string(),
            theme: Theme::Art,
            sub_theme: SubTheme::GraphicArt,
            sub_theme_raw: "Graphic Art".to_string(),
            subject: "Animal".to_string(),
            sentence_structure: "Descriptive".to_string(),
            testpoints: vec![
                TestPoint {
                    raw: "Style".to_string(),
                    sub: SubDimension::Style,
                    description: "ink painting".to_string(),
                },
                TestPoint {
                    raw: "Attribute - Quantity".to_string(),
                    sub: SubDimension::AttributeQuantity,
                    description: "two pandas".to_string(),
                },
            ],
        }
    }

    #[test]
    fn python_repr_matches_python() {
        // Values from Python 3: repr(['Style', "it's", 'a\\b', '风格']).
        assert_eq!(
            python_list_repr(["Style", "it's", "a\\b", "风格"]),
            r#"['Style', "it's", 'a\\b', '风格']"#
        );
    }

    #[test]
    fn builtin_english_render_has_all_parts() {
        let text = JudgeTemplate::builtin(Language::English).render(&prompt());
        assert!(text.contains("「two pandas in ink」"));
        assert!(text.contains("['Style', 'Attribute - Quantity']"));
        assert!(text.contains("Checkpoints Defination:「\nStyle: "));
        assert!(text.contains(
            "Checkpoints Description:「\nStyle: ink painting\nAttribute - Quantity: two pandas\n」"
        ));
        assert!(text.contains("<checkpoint>['Style', 'Attribute - Quantity']</checkpoint>"));
        assert!(!text.contains('{'), "no placeholder left: {text}");
    }

    #[test]
    fn protocol_overrides_and_validation() {
        let protocol = Protocol {
            template: Some("P={prompt} T={testpoint} {{x}}\n{explanation}".to_string()),
            definition_header: Some("Defs".to_string()),
            description_header: None,
            definitions: [("Style".to_string(), "my style".to_string())].into(),
        };
        let t = JudgeTemplate::with_protocol(Language::English, protocol).unwrap();
        let text = t.render(&prompt());
        assert!(text.starts_with("P=two pandas in ink T=['Style', 'Attribute - Quantity'] {x}\nDefs:「\nStyle: my style\nAttribute - Quantity: "));
        let bad = Protocol {
            template: Some("{prompt} {image}".to_string()),
            ..Protocol::default()
        };
        let err = JudgeTemplate::with_protocol(Language::English, bad).unwrap_err();
        assert!(err.to_string().contains("`{image}`"), "{err}");
    }
}
