//! The generator's source of randomness (SplitMix64) and the id formats built on it.
//!
//! The `rand` crate is deliberately not used: its algorithms may change between releases, and
//! a demo corpus must stay byte-identical for a given seed across toolchains and years.
//! SplitMix64 is tiny, fast, passes BigCrush, and lets every call get an independent stream
//! from `(seed, index)`, so any call can be generated without generating the ones before it.

use std::fmt::Write as _;

/// Weyl-sequence increment of SplitMix64 (2^64 / golden ratio).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// The stream numbered `stream` of the generator family `seed`.
    ///
    /// Both inputs go through the finaliser so that neighbouring seeds and neighbouring
    /// streams do not produce correlated sequences.
    pub(crate) fn stream(seed: u64, stream: u64) -> Self {
        Self {
            state: mix(seed ^ mix(stream.wrapping_add(GOLDEN))),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// A uniform integer in `0..n` (0 when `n` is 0), by multiply-shift rather than modulo
    /// so that the low, weaker bits never decide the result.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform integer in `lo..=hi`.
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform float in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One value of a non-empty list, with probability proportional to its weight.
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, weight)| u64::from(*weight)).sum();
        let mut ticket = self.below(total);
        for (item, weight) in items {
            if ticket < u64::from(*weight) {
                return *item;
            }
            ticket -= u64::from(*weight);
        }
        items[items.len() - 1].0
    }
}

/// The SplitMix64 output function (Stafford's Mix13), also a good 64-bit hash finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of some strings (FNV-1a, then mixed), for ids that must be the same
/// in every corpus: node ids of an agent's flow, tag category ids.
pub(crate) fn stable_hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xFF]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    mix(hash)
}

/// `len` lowercase hex digits derived from `parts`, in the style of seed 001's Mongo-like
/// node ids (24 digits) and tag category ids (32 digits).
pub(crate) fn stable_hex(parts: &[&str], len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut word = stable_hash(parts);
    while out.len() < len {
        let _ = write!(out, "{word:016x}");
        word = mix(word.wrapping_add(GOLDEN));
    }
    out.truncate(len);
    out
}

/// A UUID version 7 string for the instant `unix_ms`, with the remaining 74 bits from `rng`.
///
/// Built by hand rather than with the `uuid` crate's `now_v7`, which reads the clock and the
/// operating system's randomness; these ids must follow from the seed alone.
pub(crate) fn uuid_v7(unix_ms: i64, rng: &mut Rng) -> String {
    let ms = (unix_ms.max(0) as u64) & 0xFFFF_FFFF_FFFF;
    let random_a = rng.next_u64();
    let random_b = rng.next_u64();
    let time_high = ms >> 16;
    let time_low = ms & 0xFFFF;
    let version_and_rand = 0x7000 | (random_a & 0x0FFF);
    let variant_and_rand = 0x8000 | ((random_a >> 12) & 0x3FFF);
    let node = random_b & 0xFFFF_FFFF_FFFF;
    format!(
        "{time_high:08x}-{time_low:04x}-{version_and_rand:04x}-{variant_and_rand:04x}-{node:012x}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c): the state
        // after seeding is 0, which `stream` cannot produce, so drive the state directly.
        let mut rng = Rng { state: 0 };
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn uuid_v7_has_the_time_version_and_variant() {
        let mut rng = Rng::stream(1, 2);
        // 2024-01-15T10:30:15Z
        let id = uuid_v7(1_705_314_615_000, &mut rng);
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert_eq!(format!("{}{}", parts[0], parts[1]), "018d0cabfed8");
        assert!(parts[2].starts_with('7'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }

    #[test]
    fn below_and_between_stay_in_range() {
        let mut rng = Rng::stream(7, 7);
        for _ in 0..10_000 {
            assert!(rng.below(3) < 3);
            let x = rng.between(5, 9);
            assert!((5..=9).contains(&x));
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn stable_hex_is_stable_and_sized() {
        assert_eq!(stable_hex(&["a", "b"], 24), stable_hex(&["a", "b"], 24));
        assert_ne!(stable_hex(&["a", "b"], 24), stable_hex(&["ab"], 24));
        assert_eq!(stable_hex(&["x"], 32).len(), 32);
    }
}
