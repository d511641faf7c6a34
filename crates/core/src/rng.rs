//! The one seeded random number generator of prefopt (SplitMix64): data shuffles, sampling,
//! synthetic worlds and initial noise all draw from it.
//!
//! Shuffles, samples and generated data must be identical on every machine and every version
//! of prefopt, so the generator is written out here rather than taken from `rand`, whose
//! streams are allowed to change between releases.

/// SplitMix64 (Steele, Lea & Flood 2014; the seeding generator of `xoshiro`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose stream is fully determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The generator for sub-stream `stream` of `seed` (for example one per epoch).
    pub fn for_stream(seed: u64, stream: u64) -> Self {
        let mut mixer = Self::new(seed ^ 0x6A09_E667_F3BC_C909);
        let base = mixer.next_u64();
        Self::new(base ^ Self::new(stream).next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (Lemire's multiply-shift with rejection, unbiased).
    ///
    /// # Panics
    /// If `bound` is zero.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "SplitMix64::below needs a positive bound");
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// Uniform in `[0, 1)` (the top 53 bits).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one draw of the pair).
    pub fn next_normal(&mut self) -> f32 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_stream() {
        // Seed 1234567 is the usual SplitMix64 test vector; the values were checked with a
        // Python transcription of Vigna's reference `splitmix64.c`.
        let mut rng = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            vec![
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [0usize; 6];
        for _ in 0..6000 {
            seen[rng.below(6) as usize] += 1;
        }
        // Each bucket expects 1000; 5 sigma is about 140.
        assert!(seen.iter().all(|&c| (860..1140).contains(&c)), "{seen:?}");
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        SplitMix64::new(3).shuffle(&mut a);
        SplitMix64::new(3).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        let mut c: Vec<u32> = (0..50).collect();
        SplitMix64::new(4).shuffle(&mut c);
        assert_ne!(a, c);
    }

    #[test]
    fn streams_differ() {
        let a = SplitMix64::for_stream(1, 0).next_u64();
        let b = SplitMix64::for_stream(1, 1).next_u64();
        let c = SplitMix64::for_stream(2, 0).next_u64();
        assert!(a != b && a != c && b != c);
    }
}
