//! The shapes world for text-to-image: small RGB scenes of coloured shapes, captions from a
//! closed grammar with UniGenBench-tagged test points, a procedural renderer, a checker that
//! knows the ground truth, and a mini UniGenBench suite (see `docs/text-to-image.md`).

mod accuracy;
mod caption;
mod checker;
mod contact_sheet;
mod image;
mod noise;
mod render;
mod suite;
mod testpoint;
mod tokenizer;
mod vocab;
mod world;

pub use accuracy::{
    AccuracyRow, Tally, accuracy_table, checker_accuracy, checker_specificity, perturbations,
};
pub use caption::{Caption, Entity, Group, Layout, Negation};
pub use checker::{Checker, Detection, PointVerdict, check_image, in_region, related};
pub use contact_sheet::contact_sheet;
pub use image::{MAX_PNG_BYTES, MAX_PNG_SIDE, RgbImage};
pub use noise::{Corruption, box_blur, gaussian_noise};
pub use render::{PlacedObject, Scene, render, shape_mask};
pub use suite::{
    CHECKER_MODEL, CheckSummary, MAX_SUITE_BYTES, SUITE_SENTENCE, SUITE_SUB_THEME, SUITE_SUBJECT,
    SUITE_THEME, SuitePrompt, VerdictLine, check_dir, check_suite, mini_suite, read_suite,
    suite_csv, suite_image_path, write_suite, write_verdicts,
};
pub use testpoint::{Atom, Dimension, TestPoint};
pub use tokenizer::{MAX_CAPTION_WORDS, PAD_ID, WorldTokenizer};
pub use vocab::{
    BACKGROUND, COUNT_WORDS, Colour, Comparison, MAX_COUNT, Position, Relation, ShapeKind, Size,
};
pub use world::{Split, TrainingPair, World, WorldConfig};
