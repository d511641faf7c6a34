//! The text-to-image model of the shapes world: a pixel-space FLUX-architecture pipeline
//! (text encoder + flow transformer, `prefopt_models::FluxPipelineModel`) trained from scratch
//! by flow matching on ground-truth renders, its sampler-driven generation into the
//! UniGenBench image layout, and the checker's verdicts on what it draws.

mod config;
mod data;
mod generate;
mod pixels;
mod train;

pub use config::{T2iConfig, T2iModelSection, WORLD_FILE};
pub use data::WorldFlowData;
pub use generate::{
    CONTACT_SHEET_FILE, CONTACT_SHEET_MAX_IMAGES, CONTACT_SHEET_MAX_PROMPTS, GenerateOptions,
    GeneratedImages, contact_sheet_selection, generate_suite_images, load_world, read_prompts,
};
pub use pixels::{image_to_pixels, pixels_to_image};
pub use train::train_base;
