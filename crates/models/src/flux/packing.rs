//! 2×2 patch packing of images/latents and the position ids FLUX's RoPE reads
//! (diffusers' `FluxPipeline._pack_latents`, `_unpack_latents`, `_prepare_latent_image_ids`).

use burn::prelude::*;

use crate::error::{ModelError, Result};

/// `[b, c, h, w] -> [b, (h/2)(w/2), 4c]`: token `r·(w/2)+col` row-major over the 2×2 cells,
/// channel index `ch·4 + dy·2 + dx` within a token.
///
/// # Shapes
/// - x: `[b, c, h, w]` (h, w even)
/// - output: `[b, (h/2)·(w/2), 4c]`
pub fn pack_latents(x: Tensor<4>) -> Result<Tensor<3>> {
    let [b, c, h, w] = x.dims();
    if !h.is_multiple_of(2) || !w.is_multiple_of(2) {
        return Err(ModelError::InvalidInput(format!(
            "2x2 packing needs an even height and width, got {h}x{w}"
        )));
    }
    Ok(x.reshape([b, c, h / 2, 2, w / 2, 2])
        .permute([0, 2, 4, 1, 3, 5])
        .reshape([b, (h / 2) * (w / 2), 4 * c]))
}

/// The inverse of [`pack_latents`] for an `h × w` image.
///
/// # Shapes
/// - x: `[b, (h/2)·(w/2), 4c]`
/// - output: `[b, c, h, w]`
pub fn unpack_latents(x: Tensor<3>, h: usize, w: usize) -> Result<Tensor<4>> {
    let [b, n, c4] = x.dims();
    if !h.is_multiple_of(2)
        || !w.is_multiple_of(2)
        || n != (h / 2) * (w / 2)
        || !c4.is_multiple_of(4)
    {
        return Err(ModelError::InvalidInput(format!(
            "cannot unpack {n} tokens of width {c4} into a {h}x{w} image (2x2 patches)"
        )));
    }
    Ok(x.reshape([b, h / 2, w / 2, c4 / 4, 2, 2])
        .permute([0, 3, 1, 4, 2, 5])
        .reshape([b, c4 / 4, h, w]))
}

/// Image-token position ids `(0, row, col)` for a `rows × cols` token grid, row-major.
pub fn image_ids(rows: usize, cols: usize) -> Vec<[f32; 3]> {
    (0..rows)
        .flat_map(|r| (0..cols).map(move |c| [0.0, r as f32, c as f32]))
        .collect()
}

/// Text-token position ids: all zero (FLUX sees text tokens as a set).
pub fn text_ids(tokens: usize) -> Vec<[f32; 3]> {
    vec![[0.0; 3]; tokens]
}
