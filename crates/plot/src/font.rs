//! The embedded font: DejaVu Sans (from the `dejavu` crate), registered once with plotters'
//! `ab_glyph` text renderer under the family name [`FONT_FAMILY`].
//!
//! plotters' `ab_glyph` backend has no system font lookup, so without a registered font every
//! label, tick and title would be silently skipped. Registering under `"sans-serif"` also
//! makes plotters' own defaults (mesh labels, legends) use it.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use crate::error::{PlotError, Result};

/// The family the font is registered under (plotters' default family).
pub const FONT_FAMILY: &str = "sans-serif";

/// Registers DejaVu Sans (regular and bold) with plotters, once per process.
///
/// # Errors
/// [`PlotError::Font`] if the embedded font cannot be parsed (a broken build).
pub fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT_FAMILY, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}
