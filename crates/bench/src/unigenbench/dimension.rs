//! The 10 primary and 27 sub evaluation dimensions of UniGenBench, and the test-point strings
//! that name them in the English and Chinese CSVs.

use serde::{Deserialize, Serialize};

use crate::unigenbench::suite::Language;

/// One of the 10 primary evaluation dimensions, in the leaderboard's column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PrimaryDimension {
    /// Style (`Style`; 风格).
    Style,
    /// World knowledge (`World Knowledge`; 世界知识).
    WorldKnowledge,
    /// Attributes: quantity, expression, material, size, shape, colour.
    Attribute,
    /// Actions: hand, full-body, animal, interactions, state.
    Action,
    /// Relationships: composition, similarity, inclusion, comparison.
    Relationship,
    /// Compound test points: imagination, feature matching.
    Compound,
    /// Grammar: pronoun reference, consistency, negation.
    Grammar,
    /// Entity layout in 2-D and 3-D space (the data says "Entity Layout").
    Layout,
    /// Logical reasoning.
    LogicalReasoning,
    /// Text rendering (the data says "Text Generation").
    Text,
}

impl PrimaryDimension {
    /// All 10, in leaderboard order.
    pub const ALL: [Self; 10] = [
        Self::Style,
        Self::WorldKnowledge,
        Self::Attribute,
        Self::Action,
        Self::Relationship,
        Self::Compound,
        Self::Grammar,
        Self::Layout,
        Self::LogicalReasoning,
        Self::Text,
    ];

    /// The name used in reports and in the `--json` output (the paper's names).
    pub fn name(self) -> &'static str {
        match self {
            Self::Style => "Style",
            Self::WorldKnowledge => "World Knowledge",
            Self::Attribute => "Attribute",
            Self::Action => "Action",
            Self::Relationship => "Relationship",
            Self::Compound => "Compound",
            Self::Grammar => "Grammar",
            Self::Layout => "Layout",
            Self::LogicalReasoning => "Logical Reasoning",
            Self::Text => "Text",
        }
    }

    /// Parses a [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The sub-dimensions of this primary, in leaderboard order.
    pub fn subs(self) -> impl Iterator<Item = SubDimension> {
        SubDimension::ALL
            .into_iter()
            .filter(move |s| s.primary() == self)
    }
}

impl std::fmt::Display for PrimaryDimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One of the 27 sub-dimensions; each is one test-point string of the CSVs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum SubDimension {
    Style,
    WorldKnowledge,
    AttributeQuantity,
    AttributeExpression,
    AttributeMaterial,
    AttributeSize,
    AttributeShape,
    AttributeColor,
    ActionHand,
    ActionFullBody,
    ActionAnimal,
    ActionNonContact,
    ActionContact,
    ActionState,
    RelationshipComposition,
    RelationshipSimilarity,
    RelationshipInclusion,
    RelationshipComparison,
    CompoundImagination,
    CompoundFeatureMatching,
    GrammarPronounReference,
    GrammarConsistency,
    GrammarNegation,
    Layout2d,
    Layout3d,
    LogicalReasoning,
    TextGeneration,
}

/// (sub-dimension, English test point, Chinese test point, short label, primary)
type Row = (
    SubDimension,
    &'static str,
    &'static str,
    &'static str,
    PrimaryDimension,
);

const TABLE: [Row; 27] = {
    use PrimaryDimension as P;
    use SubDimension as S;
    [
        (S::Style, "Style", "风格", "Style", P::Style),
        (
            S::WorldKnowledge,
            "World Knowledge",
            "世界知识",
            "World Knowledge",
            P::WorldKnowledge,
        ),
        (
            S::AttributeQuantity,
            "Attribute - Quantity",
            "属性-数量",
            "Quantity",
            P::Attribute,
        ),
        (
            S::AttributeExpression,
            "Attribute - Expression",
            "属性-表情",
            "Expression",
            P::Attribute,
        ),
        (
            S::AttributeMaterial,
            "Attribute - Material",
            "属性-材质",
            "Material",
            P::Attribute,
        ),
        (
            S::AttributeSize,
            "Attribute - Size",
            "属性-大小",
            "Size",
            P::Attribute,
        ),
        (
            S::AttributeShape,
            "Attribute - Shape",
            "属性-形状",
            "Shape",
            P::Attribute,
        ),
        (
            S::AttributeColor,
            "Attribute - Color",
            "属性-颜色",
            "Color",
            P::Attribute,
        ),
        (
            S::ActionHand,
            "Action - Hand (Character/Anthropomorphic)",
            "动作-人物/拟人手部动作",
            "Hand",
            P::Action,
        ),
        (
            S::ActionFullBody,
            "Action - Full-body (Character/Anthropomorphic)",
            "动作-人物/拟人全身动作",
            "Full-body",
            P::Action,
        ),
        (
            S::ActionAnimal,
            "Action - Animal",
            "动作-动物动作",
            "Animal",
            P::Action,
        ),
        (
            S::ActionNonContact,
            "Action - Non-contact Interaction",
            "动作-实体间无接触互动",
            "Non-contact",
            P::Action,
        ),
        (
            S::ActionContact,
            "Action - Contact Interaction",
            "动作-实体间有接触互动",
            "Contact",
            P::Action,
        ),
        (
            S::ActionState,
            "Action - State",
            "动作-状态",
            "State",
            P::Action,
        ),
        (
            S::RelationshipComposition,
            "Relationship - Composition",
            "关系-构成关系",
            "Composition",
            P::Relationship,
        ),
        (
            S::RelationshipSimilarity,
            "Relationship - Similarity",
            "关系-相似关系",
            "Similarity",
            P::Relationship,
        ),
        (
            S::RelationshipInclusion,
            "Relationship - Inclusion",
            "关系-包含关系",
            "Inclusion",
            P::Relationship,
        ),
        (
            S::RelationshipComparison,
            "Relationship - Comparison",
            "关系-比较关系",
            "Comparison",
            P::Relationship,
        ),
        (
            S::CompoundImagination,
            "Compound - Imagination",
            "复合考点-想象力",
            "Imagination",
            P::Compound,
        ),
        (
            S::CompoundFeatureMatching,
            "Compound - Feature Matching",
            "复合考点-不同实体特征匹配",
            "Feature Matching",
            P::Compound,
        ),
        (
            S::GrammarPronounReference,
            "Grammar - Pronoun Reference",
            "语法-代词指代",
            "Pronoun Reference",
            P::Grammar,
        ),
        (
            S::GrammarConsistency,
            "Grammar - Consistency",
            "语法-统一性",
            "Consistency",
            P::Grammar,
        ),
        (
            S::GrammarNegation,
            "Grammar - Negation",
            "语法-否定",
            "Negation",
            P::Grammar,
        ),
        (
            S::Layout2d,
            "Entity Layout - Two-Dimensional Space",
            "实体布局-二维空间",
            "2D Space",
            P::Layout,
        ),
        (
            S::Layout3d,
            "Entity Layout - Three-Dimensional Space",
            "实体布局-三维空间",
            "3D Space",
            P::Layout,
        ),
        (
            S::LogicalReasoning,
            "Logical Reasoning",
            "逻辑推理",
            "Logical Reasoning",
            P::LogicalReasoning,
        ),
        (
            S::TextGeneration,
            "Text Generation",
            "文本生成",
            "Text Generation",
            P::Text,
        ),
    ]
};

impl SubDimension {
    /// All 27, in leaderboard order (primary by primary).
    pub const ALL: [Self; 27] = {
        let mut all = [Self::Style; 27];
        let mut i = 0;
        while i < 27 {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    fn row(self) -> &'static Row {
        &TABLE[self as usize]
    }

    /// The English test-point string, as written in the English CSVs.
    pub fn english(self) -> &'static str {
        self.row().1
    }

    /// The Chinese test-point string, as written in the Chinese CSVs.
    pub fn chinese(self) -> &'static str {
        self.row().2
    }

    /// The test-point string in `language`.
    pub fn label(self, language: Language) -> &'static str {
        match language {
            Language::English => self.english(),
            Language::Chinese => self.chinese(),
        }
    }

    /// A short label for charts ("Quantity", "2D Space", ...).
    pub fn short(self) -> &'static str {
        self.row().3
    }

    /// The primary dimension this sub-dimension belongs to.
    pub fn primary(self) -> PrimaryDimension {
        self.row().4
    }

    /// Parses a test-point string, English or Chinese. Surrounding white space and the spacing
    /// around the `-` separator are ignored, so `"Attribute-Color"` is accepted too.
    pub fn parse(testpoint: &str) -> Option<Self> {
        let key = normalise(testpoint);
        Self::ALL
            .into_iter()
            .find(|s| normalise(s.english()) == key || normalise(s.chinese()) == key)
    }
}

fn normalise(s: &str) -> String {
    s.split('-')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}

impl std::fmt::Display for SubDimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.english())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_enum_order_and_complete() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.0 as usize, i, "{}", row.1);
        }
        let counts: Vec<usize> = PrimaryDimension::ALL
            .iter()
            .map(|p| p.subs().count())
            .collect();
        // Research file §3.4: 1 + 1 + 6 + 6 + 4 + 2 + 3 + 2 + 1 + 1 = 27.
        assert_eq!(counts, [1, 1, 6, 6, 4, 2, 3, 2, 1, 1]);
    }

    #[test]
    fn parse_english_chinese_and_loose_spacing() {
        for s in SubDimension::ALL {
            assert_eq!(SubDimension::parse(s.english()), Some(s));
            assert_eq!(SubDimension::parse(s.chinese()), Some(s));
        }
        assert_eq!(
            SubDimension::parse(" Attribute-Color "),
            Some(SubDimension::AttributeColor)
        );
        assert_eq!(SubDimension::parse("Attribute - Colour"), None);
        assert_eq!(
            PrimaryDimension::from_name("Logical Reasoning"),
            Some(PrimaryDimension::LogicalReasoning)
        );
    }
}
