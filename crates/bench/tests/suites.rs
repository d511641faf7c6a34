//! The official CSVs load, normalise and count as the research notes say (§3.2–3.4, §3.9).

use std::collections::BTreeSet;

use prefopt_bench::{Language, SubDimension, SubTheme, Suite, SuiteOptions, Theme};

use crate::common::data_dir;

#[test]
fn official_suites_load_and_normalise() {
    let Some(dir) = data_dir() else { return };
    // (file, language, total test points, Logical Reasoning count); research file §3.2/§3.4.
    let files = [
        ("test_prompts_en.csv", Language::English, 1813, 109),
        (
            "v2025-08-28/test_prompts_en.csv",
            Language::English,
            1814,
            110,
        ),
        ("test_prompts_zh.csv", Language::Chinese, 1813, 109),
        ("test_prompts_zh_long.csv", Language::Chinese, 3920, 102),
        ("test_prompts_en_long.csv", Language::English, 3920, 102),
    ];
    for (file, language, testpoints, logic) in files {
        let suite = Suite::load(dir.join(file), SuiteOptions { repair_json: true }).unwrap();
        assert_eq!(suite.language, language, "{file}");
        assert_eq!(suite.prompts.len(), 600, "{file}");
        assert_eq!(suite.testpoint_count(), testpoints, "{file}");
        assert_eq!(suite.count(SubDimension::LogicalReasoning), logic, "{file}");
        let subs: BTreeSet<SubTheme> = suite.prompts.iter().map(|p| p.sub_theme).collect();
        assert_eq!(subs.len(), 20, "{file}: 20 sub-themes after normalisation");
        let dims: BTreeSet<SubDimension> = suite
            .prompts
            .iter()
            .flat_map(|p| p.testpoints.iter().map(|t| t.sub))
            .collect();
        assert_eq!(dims.len(), 27, "{file}");
        // Prompt counts per theme, research file §3.3.
        let count = |t: Theme| suite.prompts.iter().filter(|p| p.theme == t).count();
        assert_eq!(Theme::ALL.map(count), [70, 157, 113, 150, 110], "{file}");
        assert_eq!(
            suite.repairs.len(),
            usize::from(file == "test_prompts_en_long.csv"),
            "{file}"
        );
    }
    // The Chinese template renders the Chinese test points as a Python list.
    let zh = Suite::load(dir.join("test_prompts_zh.csv"), SuiteOptions::default()).unwrap();
    let text = prefopt_bench::JudgeTemplate::builtin(Language::Chinese).render(&zh.prompts[0]);
    assert!(
        text.contains("<checkpoint>['风格', '世界知识', '属性-数量']</checkpoint>"),
        "{text}"
    );
    assert!(
        text.contains("考点描述:「\n风格: 古典水墨画风格\n"),
        "{text}"
    );
    // Short-file sub-dimension counts from the research file's §3.4 table (current EN).
    let en = Suite::load(dir.join("test_prompts_en.csv"), SuiteOptions::default()).unwrap();
    let want = [
        (SubDimension::Style, 250),
        (SubDimension::WorldKnowledge, 158),
        (SubDimension::AttributeMaterial, 53),
        (SubDimension::RelationshipComposition, 74),
        (SubDimension::CompoundImagination, 98),
        (SubDimension::TextGeneration, 87),
    ];
    for (sub, n) in want {
        assert_eq!(en.count(sub), n, "{sub}");
    }
}

#[test]
fn en_long_row_509_is_reported_then_repaired() {
    let Some(dir) = data_dir() else { return };
    let path = dir.join("test_prompts_en_long.csv");
    let err = Suite::load(&path, SuiteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("test_prompts_en_long.csv: row index 509 (line 511)")
            && err.contains("sub_dims_en")
            && err.contains("--repair-json"),
        "{err}"
    );
    let suite = Suite::load(&path, SuiteOptions { repair_json: true }).unwrap();
    assert_eq!(suite.repairs.len(), 1);
    assert_eq!(suite.repairs[0].index, 509);
    let row = suite.prompt(509).unwrap();
    let subs: Vec<SubDimension> = row.testpoints.iter().map(|t| t.sub).collect();
    // The intended 5 test points, as in the Chinese long row 509 (research file §3.2).
    assert_eq!(
        subs,
        [
            SubDimension::ActionFullBody,
            SubDimension::GrammarNegation,
            SubDimension::AttributeColor,
            SubDimension::AttributeMaterial,
            SubDimension::AttributeExpression
        ]
    );
    let zh = Suite::load(
        dir.join("test_prompts_zh_long.csv"),
        SuiteOptions::default(),
    )
    .unwrap();
    let zh_subs: Vec<SubDimension> = zh
        .prompt(509)
        .unwrap()
        .testpoints
        .iter()
        .map(|t| t.sub)
        .collect();
    assert_eq!(subs, zh_subs);
}
