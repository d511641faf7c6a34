//! Tolerance checks for numerics tests, with messages that name the value.

/// How close two numbers must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// `|got − want| ≤ tol`.
    Abs(f64),
    /// `|got − want| ≤ tol · max(1, |want|)` (absolute near zero, relative for large values).
    Rel(f64),
}

impl Tolerance {
    /// An absolute bound.
    pub fn abs(tol: f64) -> Self {
        Self::Abs(tol)
    }

    /// A relative bound, absolute below 1 in magnitude.
    pub fn rel(tol: f64) -> Self {
        Self::Rel(tol)
    }

    /// The largest allowed `|got − want|` for `want`.
    pub fn bound(self, want: f64) -> f64 {
        match self {
            Self::Abs(t) => t,
            Self::Rel(t) => t * want.abs().max(1.0),
        }
    }
}

/// Asserts `got` is within `tol` of `want` (NaN never is).
///
/// # Panics
/// With `what`, both values, the difference and the bound.
#[track_caller]
pub fn assert_close(what: &str, got: f64, want: f64, tol: Tolerance) {
    let bound = tol.bound(want);
    let diff = (got - want).abs();
    assert!(
        diff <= bound,
        "{what}: got {got:.12}, want {want:.12} (|diff| {diff:e} > {bound:e})"
    );
}

/// Asserts equal lengths and every element within `tol`.
///
/// # Panics
/// With `what[i]` of the first element out of bounds.
#[track_caller]
pub fn assert_all_close(what: &str, got: &[f64], want: &[f64], tol: Tolerance) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_close(&format!("{what}[{i}]"), *g, *w, tol);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_close("a", 1000.0, 1000.5, Tolerance::rel(1e-3));
        assert_close("b", 0.0, 1e-7, Tolerance::abs(1e-6));
        assert!(
            std::panic::catch_unwind(|| assert_close("c", 1.0, 1.1, Tolerance::abs(0.01))).is_err()
        );
        assert!(
            std::panic::catch_unwind(|| assert_close("d", f64::NAN, 0.0, Tolerance::abs(1.0)))
                .is_err()
        );
        assert!(
            std::panic::catch_unwind(|| assert_all_close(
                "e",
                &[1.0],
                &[1.0, 2.0],
                Tolerance::abs(1.0)
            ))
            .is_err()
        );
    }
}
