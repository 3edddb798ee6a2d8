//! Deterministic randomness for the generator.
//!
//! Every independent piece of the world (a tenant's day, a file's ids, an attack) draws from its
//! own stream, keyed by the seed and a name such as `aws/123456789012/day/14`. So the bytes of a
//! file depend only on the seed and on what the file is, never on the order in which files are
//! written or on how many threads write them.
//!
//! The streams are ChaCha8 (`rand_chacha`, whose output is fixed by the ChaCha specification).
//! The distributions are written out here rather than taken from `rand`, because `rand` reserves
//! the right to change how it turns random bits into values between versions, and a world must
//! stay byte-identical for a seed across dependency upgrades.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One named random stream.
pub(crate) struct Rand(ChaCha8Rng);

impl Rand {
    /// The stream called `key` in the world of `seed`.
    pub fn new(seed: u64, key: &str) -> Rand {
        let mut state = seed ^ fnv1a(key.as_bytes());
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        Rand(ChaCha8Rng::from_seed(bytes))
    }

    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`0` when `n` is 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let draw = self.u64();
            if draw < zone {
                return draw % n;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn int(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// Uniform in `[lo, hi)`.
    pub fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Normal by Box–Muller; one pair of uniforms per draw keeps the stream easy to reason about.
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln is finite
        let u2 = self.unit();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A multiplicative noise factor with mean 1 (log-normal with log-sd `sigma`).
    pub fn jitter(&mut self, sigma: f64) -> f64 {
        (self.normal(0.0, sigma) - sigma * sigma / 2.0).exp()
    }

    /// Poisson: Knuth's product method for small means, a rounded normal for large ones
    /// (where the difference does not matter for event counts).
    pub fn poisson(&mut self, mean: f64) -> u32 {
        if mean.is_nan() || mean <= 0.0 {
            return 0;
        }
        if mean > 40.0 {
            return self.normal(mean, mean.sqrt()).round().max(0.0) as u32;
        }
        let limit = (-mean).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit {
            count += 1;
            product *= self.unit();
        }
        count
    }

    /// One element, uniformly. `items` must not be empty (callers pass constant tables).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A copy of one element, uniformly (for tables of `&str` and other small values).
    pub fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick(items)
    }

    /// An element of a `(item, weight)` table, drawn in proportion to the weights.
    pub fn pick_weighted<'a, T>(&mut self, table: &'a [(T, f64)]) -> &'a T {
        let mut total = 0.0;
        for (_, weight) in table {
            total += weight;
        }
        let mut target = self.unit() * total;
        for (item, weight) in table {
            if target < *weight {
                return item;
            }
            target -= weight;
        }
        &table[table.len() - 1].0
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// `length` characters of `alphabet` (ASCII).
    pub fn string(&mut self, alphabet: &[u8], length: usize) -> String {
        let mut text = String::with_capacity(length);
        for _ in 0..length {
            text.push(char::from(*self.pick(alphabet)));
        }
        text
    }

    pub fn hex(&mut self, length: usize) -> String {
        self.string(HEX, length)
    }

    /// Decimal digits, the first one not zero (account numbers, project numbers).
    pub fn digits(&mut self, length: usize) -> String {
        let mut text = String::with_capacity(length);
        text.push(char::from(*self.pick(b"123456789")));
        for _ in 1..length {
            text.push(char::from(*self.pick(b"0123456789")));
        }
        text
    }

    /// Upper-case letters and digits (AWS key and principal ids).
    pub fn upper_alnum(&mut self, length: usize) -> String {
        self.string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", length)
    }

    /// Mixed-case letters and digits.
    pub fn alnum(&mut self, length: usize) -> String {
        self.string(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            length,
        )
    }

    /// A random (version 4) UUID, lower case.
    pub fn uuid(&mut self) -> String {
        let a = self.u64();
        let b = self.u64();
        let mut nibbles = [0u8; 32];
        for (i, nibble) in nibbles.iter_mut().enumerate() {
            let word = if i < 16 { a } else { b };
            *nibble = ((word >> (60 - 4 * (i % 16))) & 0xf) as u8;
        }
        nibbles[12] = 4; // version
        nibbles[16] = 8 | (nibbles[16] & 0x3); // variant 10xx
        let mut text = String::with_capacity(36);
        for (i, nibble) in nibbles.iter().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                text.push('-');
            }
            text.push(char::from(HEX[usize::from(*nibble)]));
        }
        text
    }
}

const HEX: &[u8] = b"0123456789abcdef";

/// FNV-1a: a stable string hash (std's hasher is randomly keyed per process).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64 (Steele et al.): spreads a 64-bit state into well-mixed outputs.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_stream_other_key_other_stream() {
        let draws = |seed, key| {
            let mut rand = Rand::new(seed, key);
            (0..8).map(|_| rand.u64()).collect::<Vec<_>>()
        };
        assert_eq!(draws(7, "aws/1/day/3"), draws(7, "aws/1/day/3"));
        assert_ne!(draws(7, "aws/1/day/3"), draws(7, "aws/1/day/4"));
        assert_ne!(draws(7, "aws/1/day/3"), draws(8, "aws/1/day/3"));
    }

    #[test]
    fn streams_are_pinned_across_versions() {
        // A changed value here means every generated world (and fixtures/demo) changes.
        let mut rand = Rand::new(7, "pin");
        assert_eq!(rand.u64(), 0x32fd_2207_1c36_2446);
        assert_eq!(rand.u64(), 0x14b2_ae97_b2a0_df65);
        assert_eq!(fnv1a(b"auditsweep"), 0xcfe5_341a_ff8a_a170);
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn distributions_have_the_right_centre() {
        let mut rand = Rand::new(1, "stats");
        let n = 20_000;
        let units: f64 = (0..n).map(|_| rand.unit()).sum::<f64>() / f64::from(n);
        assert!((units - 0.5).abs() < 0.01, "{units}");
        let poisson: f64 = (0..n).map(|_| f64::from(rand.poisson(3.0))).sum::<f64>() / f64::from(n);
        assert!((poisson - 3.0).abs() < 0.05, "{poisson}");
        let normal: f64 = (0..n).map(|_| rand.normal(10.0, 2.0)).sum::<f64>() / f64::from(n);
        assert!((normal - 10.0).abs() < 0.05, "{normal}");
        let jitter: f64 = (0..n).map(|_| rand.jitter(0.2)).sum::<f64>() / f64::from(n);
        assert!((jitter - 1.0).abs() < 0.01, "{jitter}");
        for _ in 0..1000 {
            let value = rand.int(3, 5);
            assert!((3..=5).contains(&value));
            assert!(rand.below(7) < 7);
        }
    }

    #[test]
    fn uuids_look_like_version_4() {
        let id = Rand::new(3, "uuid").uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]));
        assert_eq!(id.matches('-').count(), 4);
    }
}
