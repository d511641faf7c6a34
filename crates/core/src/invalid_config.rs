//! The one "invalid setting" error: every crate's config validation reports a bad value as an
//! [`InvalidConfig`] naming the key as the user spells it in the TOML file, and wraps it in its
//! own error type (`#[error(transparent)] InvalidConfig(#[from] InvalidConfig)`).

/// A setting outside its valid range, or two settings that contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for `{field}`: {reason}")]
pub struct InvalidConfig {
    /// The config key, spelled as in the TOML file (e.g. `beta`, `warmup_steps`).
    pub field: &'static str,
    /// Why the value was rejected, including the value itself.
    pub reason: String,
}

impl InvalidConfig {
    /// An error for `field`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// An [`InvalidConfig`] for `field`, already converted into the caller's error type `E`.
pub fn invalid<E: From<InvalidConfig>>(field: &'static str, reason: impl Into<String>) -> E {
    E::from(InvalidConfig::new(field, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_the_key() {
        let e = InvalidConfig::new("beta", "must be > 0, got -1");
        assert_eq!(
            e.to_string(),
            "invalid value for `beta`: must be > 0, got -1"
        );
        let wrapped: crate::CoreError = invalid("workers", "must be > 0");
        assert!(matches!(
            wrapped,
            crate::CoreError::InvalidConfig(InvalidConfig {
                field: "workers",
                ..
            })
        ));
    }
}
