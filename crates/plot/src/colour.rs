//! Colours of series and bars.

use plotters::style::RGBColor;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Black.
    pub const BLACK: Self = Self(0, 0, 0);
    /// Grey.
    pub const GREY: Self = Self(127, 127, 127);

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// The `i`-th colour of the default palette ([`PALETTE`], cycled).
    pub fn palette(i: usize) -> Self {
        PALETTE[i % PALETTE.len()]
    }

    pub(crate) fn to_plotters(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// The default series colours (matplotlib's `tab10`, first eight).
pub const PALETTE: [Rgb; 8] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(127, 127, 127),
];
