//! Prompt themes: 5 primary themes and 20 sub-themes.
//!
//! The English CSVs spell the same sub-theme several ways ("Art-Graphic Art" next to
//! "Graphic Art", "Mapping-Content Mapping" for 配图-内容配图, two casings of "Logo/Icon
//! Design"); the Chinese labels are consistent once a leading "primary-" prefix is dropped.
//! [`SubTheme::parse`] maps every spelling found in the official files (research file §3.3) to
//! one of the 20 canonical sub-themes.

use serde::{Deserialize, Serialize};

/// One of the 5 primary prompt themes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Theme {
    /// Creative Divergence (创意发散).
    CreativeDivergence,
    /// Art (艺术).
    Art,
    /// Illustration (配图).
    Illustration,
    /// Film & Story (影视故事).
    FilmStory,
    /// Design (设计).
    Design,
}

impl Theme {
    /// All 5.
    pub const ALL: [Self; 5] = [
        Self::CreativeDivergence,
        Self::Art,
        Self::Illustration,
        Self::FilmStory,
        Self::Design,
    ];

    /// English name.
    pub fn english(self) -> &'static str {
        match self {
            Self::CreativeDivergence => "Creative Divergence",
            Self::Art => "Art",
            Self::Illustration => "Illustration",
            Self::FilmStory => "Film & Story",
            Self::Design => "Design",
        }
    }

    /// Chinese name.
    pub fn chinese(self) -> &'static str {
        match self {
            Self::CreativeDivergence => "创意发散",
            Self::Art => "艺术",
            Self::Illustration => "配图",
            Self::FilmStory => "影视故事",
            Self::Design => "设计",
        }
    }

    /// Parses an English or Chinese primary-theme label (case-insensitive).
    pub fn parse(label: &str) -> Option<Self> {
        let l = label.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|t| t.english().to_lowercase() == l || t.chinese() == l)
    }
}

/// One of the 20 sub-themes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum SubTheme {
    ImaginativeThinking,
    CreativeOther,
    GraphicArt,
    PhotographyArt,
    SculpturalArt,
    ArtOther,
    ContentIllustration,
    CopywritingIllustration,
    Animation,
    Realism,
    SciFi,
    AdvertisingDesign,
    DesignAssets,
    FashionDesign,
    GameDesign,
    IpDesign,
    LogoIconDesign,
    PosterDesign,
    SpatialDesign,
    UiDesign,
}

/// (sub-theme, theme, canonical English, Chinese, other English spellings seen in the data)
type Row = (
    SubTheme,
    Theme,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const TABLE: [Row; 20] = {
    use SubTheme as S;
    use Theme as T;
    [
        (
            S::ImaginativeThinking,
            T::CreativeDivergence,
            "Imaginative Thinking",
            "想象力发散",
            &["Creativity divergence-imagination divergence"],
        ),
        (
            S::CreativeOther,
            T::CreativeDivergence,
            "Other",
            "其他",
            &["Creative divergence-other"],
        ),
        (
            S::GraphicArt,
            T::Art,
            "Graphic Art",
            "平面艺术",
            &["Art-Graphic Art"],
        ),
        (
            S::PhotographyArt,
            T::Art,
            "Photography Art",
            "摄影艺术",
            &["Art-Photography Art"],
        ),
        (
            S::SculpturalArt,
            T::Art,
            "Sculptural Art",
            "立体艺术",
            &["Art-Three-dimensional Art", "Three-dimensional Art"],
        ),
        (S::ArtOther, T::Art, "Other", "其他", &[]),
        (
            S::ContentIllustration,
            T::Illustration,
            "Content Illustration",
            "内容配图",
            &["Mapping-Content Mapping"],
        ),
        (
            S::CopywritingIllustration,
            T::Illustration,
            "Copywriting Illustration",
            "文案配图",
            &[],
        ),
        (S::Animation, T::FilmStory, "Animation", "动画", &[]),
        (S::Realism, T::FilmStory, "Realism", "写实", &[]),
        (S::SciFi, T::FilmStory, "Sci-Fi", "科幻", &[]),
        (
            S::AdvertisingDesign,
            T::Design,
            "Advertising/E-commerce Design",
            "广告/电商设计",
            &[],
        ),
        (S::DesignAssets, T::Design, "Design Assets", "设计素材", &[]),
        (
            S::FashionDesign,
            T::Design,
            "Fashion Design",
            "服装设计",
            &[],
        ),
        (
            S::GameDesign,
            T::Design,
            "Game Design",
            "游戏设计",
            &["Design-Game Design"],
        ),
        (S::IpDesign, T::Design, "IP Design", "ip设计", &[]),
        (
            S::LogoIconDesign,
            T::Design,
            "Logo/Icon Design",
            "logo/icon设计",
            &[],
        ),
        (S::PosterDesign, T::Design, "Poster Design", "海报设计", &[]),
        (
            S::SpatialDesign,
            T::Design,
            "Spatial Design",
            "空间设计",
            &["Design-Space Design"],
        ),
        (S::UiDesign, T::Design, "UI Design", "软件界面设计", &[]),
    ]
};

impl SubTheme {
    /// All 20.
    pub const ALL: [Self; 20] = {
        let mut all = [Self::ImaginativeThinking; 20];
        let mut i = 0;
        while i < 20 {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    fn row(self) -> &'static Row {
        &TABLE[self as usize]
    }

    /// The primary theme.
    pub fn theme(self) -> Theme {
        self.row().1
    }

    /// Canonical English name.
    pub fn english(self) -> &'static str {
        self.row().2
    }

    /// Chinese name.
    pub fn chinese(self) -> &'static str {
        self.row().3
    }

    /// Maps a raw sub-theme label (English or Chinese, any spelling found in the official files)
    /// within primary theme `theme` to its canonical sub-theme. Matching ignores case and an
    /// optional leading `"<primary>-"` prefix.
    pub fn parse(theme: Theme, label: &str) -> Option<Self> {
        let raw = label.trim().to_lowercase();
        // "艺术-平面艺术" -> "平面艺术"; "Art-Graphic Art" is also listed as an alias.
        let stripped = [theme.english(), theme.chinese()]
            .iter()
            .find_map(|p| raw.strip_prefix(&format!("{}-", p.to_lowercase())))
            .map(str::trim)
            .unwrap_or(&raw)
            .to_string();
        Self::ALL
            .into_iter()
            .filter(|s| s.theme() == theme)
            .find(|s| {
                let row = s.row();
                [row.2, row.3].iter().chain(row.4.iter()).any(|name| {
                    let n = name.to_lowercase();
                    n == raw || n == stripped
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_and_counts() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.0 as usize, i);
        }
        let per_theme: Vec<usize> = Theme::ALL
            .iter()
            .map(|t| SubTheme::ALL.iter().filter(|s| s.theme() == *t).count())
            .collect();
        // Research file §3.3: 2 + 4 + 2 + 3 + 9 = 20.
        assert_eq!(per_theme, [2, 4, 2, 3, 9]);
    }

    #[test]
    fn raw_spellings_normalise() {
        use SubTheme as S;
        use Theme as T;
        let cases = [
            (T::Art, "Art-Graphic Art", S::GraphicArt),
            (T::Art, "艺术-立体艺术", S::SculpturalArt),
            (T::Art, "Art-Three-dimensional Art", S::SculpturalArt),
            (T::Art, "Other", S::ArtOther),
            (T::CreativeDivergence, "Other", S::CreativeOther),
            (T::CreativeDivergence, "创意发散-其他", S::CreativeOther),
            (
                T::Illustration,
                "Mapping-Content Mapping",
                S::ContentIllustration,
            ),
            (T::Illustration, "配图-内容配图", S::ContentIllustration),
            (T::Design, "Logo/icon design", S::LogoIconDesign),
            (T::Design, "logo/icon设计", S::LogoIconDesign),
            (T::Design, "Design-Space Design", S::SpatialDesign),
        ];
        for (theme, label, want) in cases {
            assert_eq!(SubTheme::parse(theme, label), Some(want), "{label}");
        }
        assert_eq!(SubTheme::parse(T::Design, "Graphic Art"), None);
    }
}
