//! The shapes world: grammar, renderer, checker accuracy, tokenizer, bad input.

use std::path::Path;

use prefopt_core::SplitMix64;
use prefopt_tasks::TaskError;
use prefopt_tasks::shapes::{
    Caption, Checker, Colour, Corruption, Dimension, MAX_CAPTION_WORDS, RgbImage, ShapeKind, Split,
    World, WorldConfig, WorldTokenizer, accuracy_table, check_image, checker_accuracy,
    checker_specificity, contact_sheet, perturbations, render,
};

fn caption_error(text: &str) -> (usize, String) {
    match Caption::parse(text) {
        Err(TaskError::Caption { word, message, .. }) => (word, message),
        other => panic!("{text:?}: expected a caption error, got {other:?}"),
    }
}

#[test]
fn captions_round_trip_and_carry_official_test_points() {
    let world = World::default();
    let mut rng = SplitMix64::new(7);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let c = world.random_caption(&mut rng);
        let text = c.text();
        assert_eq!(Caption::parse(&text).unwrap(), c, "{text}");
        assert!(
            text.split_whitespace().count() <= MAX_CAPTION_WORDS,
            "{text}"
        );
        let points = c.test_points();
        assert!(!points.is_empty());
        for p in &points {
            seen.insert(p.dimension);
            // The official strings, as prefopt-bench parses them.
            let sub = prefopt_bench::SubDimension::parse(p.testpoint()).unwrap();
            assert_eq!(sub.primary().name(), p.dimension.primary());
        }
    }
    assert_eq!(seen.len(), Dimension::ALL.len(), "every dimension occurs");
}

#[test]
fn example_caption_test_points() {
    let c = Caption::parse(
        "a big red circle on the left and two small blue squares with no green shapes",
    )
    .unwrap();
    let points: Vec<(&str, String)> = c
        .test_points()
        .iter()
        .map(|p| (p.testpoint(), p.description.clone()))
        .collect();
    assert_eq!(
        points,
        vec![
            ("Attribute - Color", "red circle, blue squares".to_string()),
            ("Attribute - Shape", "circle, squares".to_string()),
            (
                "Attribute - Size",
                "big red circle, small blue squares".to_string()
            ),
            ("Attribute - Quantity", "two blue squares".to_string()),
            (
                "Entity Layout - Two-Dimensional Space",
                "red circle on the left".to_string()
            ),
            (
                "Compound - Feature Matching",
                "a red circle and two blue squares".to_string()
            ),
            ("Grammar - Negation", "no green shapes".to_string()),
        ]
    );
    let r = Caption::parse("a yellow ring larger than a cyan cross").unwrap();
    assert!(
        r.test_points()
            .iter()
            .any(|p| p.testpoint() == "Relationship - Comparison")
    );
}

#[test]
fn captions_outside_the_grammar_name_the_word() {
    assert_eq!(caption_error("a red hexagon").0, 3);
    assert!(caption_error("a red hexagon").1.contains("`hexagon`"));
    assert_eq!(caption_error("a crimson circle").0, 2);
    assert_eq!(caption_error("two red circle").0, 3, "plural needed");
    assert_eq!(caption_error("a red circles").0, 3, "singular needed");
    assert_eq!(caption_error("five red circles").0, 1);
    assert_eq!(caption_error("a red circle on the middle").0, 6);
    assert_eq!(caption_error("a red circle with no").0, 6, "the end");
    assert_eq!(caption_error("a red circle please").0, 4);
    assert_eq!(caption_error("a red circle larger a blue square").0, 5);
    assert_eq!(caption_error("").0, 0);
    // Rules beyond the grammar are named too.
    assert!(
        caption_error("a red circle with no red shapes")
            .1
            .contains("contradicts")
    );
    assert!(
        caption_error("a red circle and a red circle")
            .1
            .contains("must differ")
    );
    assert!(
        caption_error("two red circles on the left")
            .1
            .contains("single object")
    );
    let message = Caption::parse("a red hexagon").unwrap_err().to_string();
    assert!(
        message.contains("word 3") && message.contains("square, circle"),
        "{message}"
    );
}

#[test]
fn renders_are_deterministic_and_sized() {
    let world = World::default();
    let c = Caption::parse("three small purple triangles and a big cyan ring").unwrap();
    let a = render(&c, &world.config, &mut SplitMix64::new(3)).unwrap();
    let b = render(&c, &world.config, &mut SplitMix64::new(3)).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.image.width(), a.image.height()), (32, 32));
    assert_eq!(a.objects.len(), 4);
    let config = WorldConfig {
        width: 48,
        height: 40,
        big: 15,
        small: 9,
        ..WorldConfig::default()
    };
    let s = render(&c, &config, &mut SplitMix64::new(3)).unwrap();
    assert_eq!((s.image.width(), s.image.height()), (48, 40));
    let v = check_image(&s.image, &c, &config).unwrap();
    assert!(v.iter().all(|v| v.passed), "{v:?}");
    // Too many objects for the world.
    let crowded = Caption::parse("four red circles and three blue squares").unwrap();
    assert!(render(&crowded, &world.config, &mut SplitMix64::new(0)).is_err());
}

#[test]
fn checker_fails_wrong_images() {
    let world = World::default();
    let checker = Checker::new(world.config).unwrap();
    let drawn = Caption::parse("a big red circle on the left and two small blue squares").unwrap();
    let scene = render(&drawn, &world.config, &mut SplitMix64::new(11)).unwrap();
    let verdict = |text: &str| -> Vec<(Dimension, bool)> {
        let c = Caption::parse(text).unwrap();
        checker
            .check(&scene.image, &c, Path::new("x"))
            .unwrap()
            .into_iter()
            .map(|v| (v.dimension, v.passed))
            .collect()
    };
    assert!(verdict(&drawn.text()).iter().all(|(_, p)| *p));
    use Dimension as D;
    assert_eq!(
        verdict("a green circle"),
        vec![(D::Color, false), (D::Shape, true)]
    );
    assert_eq!(
        verdict("a red triangle"),
        vec![(D::Color, true), (D::Shape, false)]
    );
    assert_eq!(
        verdict("a small red circle"),
        vec![(D::Color, true), (D::Shape, true), (D::Size, false)]
    );
    assert_eq!(
        verdict("three blue squares"),
        vec![(D::Color, true), (D::Shape, true), (D::Quantity, false)]
    );
    assert_eq!(
        verdict("a red circle on the right"),
        vec![(D::Color, true), (D::Shape, true), (D::Layout2d, false)]
    );
    assert_eq!(
        verdict("a red circle with no blue shapes")[2],
        (D::Negation, false)
    );
    assert_eq!(
        verdict("a red circle with no triangles")[2],
        (D::Negation, true)
    );
    assert_eq!(
        verdict("a red square and a blue circle")[2],
        (D::FeatureMatching, false)
    );
    assert_eq!(
        verdict("a blue square smaller than a red circle")[2],
        (D::Comparison, true)
    );
    assert_eq!(
        verdict("a blue square larger than a red circle")[2],
        (D::Comparison, false)
    );
    let rel = Caption::parse("a yellow cross above a purple ring").unwrap();
    let s = render(&rel, &world.config, &mut SplitMix64::new(5)).unwrap();
    let flipped = Caption::parse("a yellow cross below a purple ring").unwrap();
    let v = checker.check(&s.image, &flipped, Path::new("x")).unwrap();
    assert_eq!(v[2].dimension, D::Layout2d);
    assert!(!v[2].passed, "{v:?}");
    assert!(
        checker
            .check(&s.image, &rel, Path::new("x"))
            .unwrap()
            .iter()
            .all(|v| v.passed)
    );
}

#[test]
fn checker_is_right_on_at_least_99_percent_of_ground_truth_test_points() {
    let world = World::default();
    let row = checker_accuracy(&world, 2000, 1, Corruption::None).unwrap();
    assert!(row.overall.total > 5000, "{}", row.overall.total);
    assert!(
        row.overall.percent() >= 99.0,
        "{}",
        accuracy_table(std::slice::from_ref(&row))
    );
    for (d, t) in &row.by_dimension {
        assert!(
            t.percent() >= 97.0,
            "{d}: {}",
            accuracy_table(std::slice::from_ref(&row))
        );
    }
}

#[test]
fn checker_rejects_false_test_points_and_tolerates_noise() {
    let world = World::default();
    // Perturbed captions (a missing colour or shape, the other size, another count, the
    // opposite position, the flipped relation or comparison, swapped colours) must fail.
    let row = checker_specificity(&world, 500, 3, Corruption::None).unwrap();
    assert!(row.overall.total > 1500, "{}", row.overall.total);
    assert!(
        row.overall.percent() >= 99.0,
        "{}",
        accuracy_table(std::slice::from_ref(&row))
    );
    assert_eq!(row.by_dimension.len(), 7, "every perturbation kind occurs");
    let noisy = checker_accuracy(&world, 300, 4, Corruption::Gaussian(32.0)).unwrap();
    assert!(
        noisy.overall.percent() >= 99.0,
        "{}",
        accuracy_table(std::slice::from_ref(&noisy))
    );
    // The perturbations change exactly the dimension they name.
    let c = Caption::parse("a big red circle left of a small blue square").unwrap();
    let kinds: Vec<Dimension> = perturbations(&c).into_iter().map(|(d, _)| d).collect();
    use Dimension as D;
    assert_eq!(
        kinds,
        vec![D::Color, D::Shape, D::Size, D::Layout2d, D::FeatureMatching]
    );
}

#[test]
fn wrong_size_and_mode_are_refused() {
    let world = World::default();
    let c = Caption::parse("a red circle").unwrap();
    let small = RgbImage::filled(16, 16, [0, 0, 0]);
    let err = check_image(&small, &c, &world.config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("16×16") && err.contains("32×32"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let grey = dir.path().join("grey.png");
    image::GrayImage::new(32, 32).save(&grey).unwrap();
    let err = RgbImage::read_png(&grey).unwrap_err().to_string();
    assert!(
        err.contains("grey.png") && err.contains("L8") && err.contains("Rgb8"),
        "{err}"
    );
    let rgba = dir.path().join("rgba.png");
    image::RgbaImage::new(32, 32).save(&rgba).unwrap();
    assert!(
        RgbImage::read_png(&rgba)
            .unwrap_err()
            .to_string()
            .contains("Rgba8")
    );
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"not a png").unwrap();
    assert!(
        RgbImage::read_png(&junk)
            .unwrap_err()
            .to_string()
            .contains("junk.png")
    );

    // PNG round trip.
    let scene = render(&c, &world.config, &mut SplitMix64::new(1)).unwrap();
    let path = dir.path().join("0_0.png");
    scene.image.write_png(&path).unwrap();
    assert_eq!(RgbImage::read_png(&path).unwrap(), scene.image);
}

#[test]
fn bad_world_configs_are_named() {
    for (config, key) in [
        (
            WorldConfig {
                width: 8,
                ..WorldConfig::default()
            },
            "`width`",
        ),
        (
            WorldConfig {
                big: 12,
                ..WorldConfig::default()
            },
            "`big`",
        ),
        (
            WorldConfig {
                small: 9,
                ..WorldConfig::default()
            },
            "`big`",
        ),
        (
            WorldConfig {
                max_objects: 0,
                ..WorldConfig::default()
            },
            "`max_objects`",
        ),
    ] {
        let err = World::new(config).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
}

#[test]
fn tokenizer_encodes_every_caption_word() {
    let tok = WorldTokenizer::new();
    let world = World::default();
    let mut rng = SplitMix64::new(2);
    for _ in 0..500 {
        let text = world.random_caption(&mut rng).text();
        let (ids, mask) = tok.encode(&text, MAX_CAPTION_WORDS).unwrap();
        assert_eq!(ids.len(), MAX_CAPTION_WORDS);
        assert_eq!(
            mask.iter().filter(|m| **m).count(),
            text.split_whitespace().count()
        );
        assert_eq!(tok.decode(&ids), text);
    }
    assert!(tok.vocab_size() < 64);
    let err = tok.encode("a red hexagon", 8).unwrap_err().to_string();
    assert!(err.contains("word 3") && err.contains("hexagon"), "{err}");
    assert!(tok.encode("a red circle", 2).is_err());
    assert_eq!(tok.ids("a red circle").unwrap().len(), 3);
    assert!(tok.ids("a red <pad>").is_err());
}

#[test]
fn training_pairs_are_deterministic_and_never_held_out() {
    let world = World::default();
    let a: Vec<_> = world
        .training_pairs(9)
        .take(50)
        .map(Result::unwrap)
        .collect();
    let b: Vec<_> = world
        .training_pairs(9)
        .take(50)
        .map(Result::unwrap)
        .collect();
    assert_eq!(a, b);
    let checker = Checker::new(world.config).unwrap();
    for p in &a {
        assert_eq!(Split::of(&p.caption), Split::Train);
        let c = Caption::parse(&p.caption).unwrap();
        let v = checker.check(&p.image, &c, Path::new("x")).unwrap();
        assert!(v.iter().all(|v| v.passed), "{}: {v:?}", p.caption);
    }
    let held = world.captions(4, 200, Split::HeldOut, true).unwrap();
    assert!(held.iter().all(|c| Split::of(&c.text()) == Split::HeldOut));
    assert!(Colour::ALL.len() == 6 && ShapeKind::ALL.len() == 5);
}

#[test]
fn contact_sheet_tiles_and_scales() {
    let a = RgbImage::filled(2, 3, [255, 0, 0]);
    let b = RgbImage::filled(2, 3, [0, 255, 0]);
    let sheet = contact_sheet(&[a.clone(), b.clone(), a.clone()], 2, 3, 1, [9, 9, 9]).unwrap();
    // 2 columns × (6 + 1) + 1, 2 rows × (9 + 1) + 1
    assert_eq!((sheet.width(), sheet.height()), (15, 21));
    assert_eq!(sheet.get(0, 0), [9, 9, 9]);
    assert_eq!(sheet.get(1, 1), [255, 0, 0]);
    assert_eq!(sheet.get(8, 9), [0, 255, 0]);
    assert_eq!(sheet.get(1, 11), [255, 0, 0]);
    assert_eq!(
        sheet.get(8, 11),
        [9, 9, 9],
        "the empty cell keeps the gap colour"
    );
    let odd = RgbImage::filled(3, 3, [0, 0, 0]);
    let err = contact_sheet(&[a, odd], 2, 1, 0, [0; 3])
        .unwrap_err()
        .to_string();
    assert!(err.contains("image 1 is 3×3"), "{err}");
    assert!(contact_sheet(&[], 2, 1, 0, [0; 3]).is_err());
}

#[test]
fn the_contact_sheet_of_a_large_generation_stays_viewable() {
    use prefopt_tasks::shapes::contact_sheet;
    use prefopt_tasks::shapes_t2i::{
        CONTACT_SHEET_MAX_IMAGES, CONTACT_SHEET_MAX_PROMPTS, contact_sheet_selection,
    };
    // 100 prompts × 4 images (what `docs/text-to-image.md`'s suite run draws): a sheet of all
    // of them at scale 3 would be 9802 px high, past the PNG writer's limit.
    let ids: Vec<(usize, usize)> = (0..100).flat_map(|i| (0..4).map(move |j| (i, j))).collect();
    let (shown, columns) = contact_sheet_selection(&ids, 4);
    assert_eq!(columns, 4);
    assert_eq!(shown.len(), CONTACT_SHEET_MAX_PROMPTS * 4);
    assert_eq!(shown[..5], [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]);
    // Many images per prompt: the first few of each prompt, prompt rows kept aligned.
    let wide: Vec<(usize, usize)> = (0..3).flat_map(|i| (0..20).map(move |j| (i, j))).collect();
    let (shown, columns) = contact_sheet_selection(&wide, 20);
    assert_eq!(columns, CONTACT_SHEET_MAX_IMAGES);
    assert_eq!(shown[CONTACT_SHEET_MAX_IMAGES], (1, 0));
    // The selected sheet of 32×32 images is drawable.
    let image = prefopt_tasks::shapes::RgbImage::filled(32, 32, [0; 3]);
    let images = vec![image; 400];
    let (shown, columns) = contact_sheet_selection(&images, 4);
    let sheet = contact_sheet(&shown, columns, 3, 2, [128; 3]).unwrap();
    assert_eq!(sheet.height(), CONTACT_SHEET_MAX_PROMPTS * (96 + 2) + 2);
}
