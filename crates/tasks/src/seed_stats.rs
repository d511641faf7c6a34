//! Statistics over seeds: a mean with its standard error, and a paired difference of two
//! arms run with the same seeds.

use serde::{Deserialize, Serialize};

/// The mean of per-seed values with the standard error of that mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanSe {
    /// The mean (NaN for no values).
    pub mean: f64,
    /// Its standard error: sample std / √n (0 for fewer than two values).
    pub se: f64,
    /// Values aggregated.
    pub n: usize,
}

impl MeanSe {
    /// The mean and standard error of `values`.
    pub fn of(values: &[f64]) -> Self {
        let (mean, se) = mean_se(values);
        Self {
            mean,
            se,
            n: values.len(),
        }
    }
}

/// The mean of `values` and its standard error (sample std / √n); `(NaN, 0)` for none,
/// `(x, 0)` for one.
pub fn mean_se(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// A paired comparison of two arms over the seeds both ran: same seed = same initial
/// weights and batches, so the seed-to-seed spread cancels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// Mean of the per-seed differences.
    pub mean: f64,
    /// Its standard error (0 with one seed).
    pub se: f64,
    /// Seeds where the difference is positive.
    pub ahead: usize,
    /// Seeds compared.
    pub seeds: usize,
}

impl PairedDifference {
    /// The differences `a − b` of `pairs` (one per seed); `None` for no pairs.
    pub fn of(pairs: &[(f64, f64)]) -> Option<Self> {
        let diffs: Vec<f64> = pairs.iter().map(|(a, b)| a - b).collect();
        if diffs.is_empty() {
            return None;
        }
        let (mean, se) = mean_se(&diffs);
        Some(Self {
            mean,
            se,
            ahead: diffs.iter().filter(|d| **d > 0.0).count(),
            seeds: diffs.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_standard_error() {
        let m = MeanSe::of(&[1.0, 2.0, 3.0]);
        assert_eq!(m.mean, 2.0);
        assert!((m.se - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(m.n, 3);
        assert!(MeanSe::of(&[]).mean.is_nan());
        assert_eq!(MeanSe::of(&[5.0]).se, 0.0);
    }

    #[test]
    fn paired_differences_count_the_seeds_ahead() {
        let d = PairedDifference::of(&[(3.0, 1.0), (1.0, 2.0), (4.0, 1.0)]).unwrap();
        assert!((d.mean - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!((d.ahead, d.seeds), (2, 3));
        assert!(PairedDifference::of(&[]).is_none());
    }
}
