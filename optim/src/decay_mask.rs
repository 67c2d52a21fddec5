//! [`DecayMask`]: which parameters weight decay applies to.

use crate::optimizer::Settings;
use crate::{Error, Result};
use std::ops::Range;

/// The entries of the flat parameter vector that weight decay applies to;
/// the others are updated without it.
///
/// The usual use exempts biases (and other offsets) from the decay of the
/// weights: PyTorch's two parameter groups `{"params": weights}` and
/// `{"params": biases, "weight_decay": 0}`, optax's `mask` argument of
/// `adamw`. [`Sgd`](crate::Sgd), [`Adam`](crate::Adam),
/// [`AdamW`](crate::AdamW), [`RmsProp`](crate::RmsProp) and
/// [`Adagrad`](crate::Adagrad) take one (`with_decay_mask`); a masked optimizer
/// steps every entry exactly as the same optimizer without decay
/// (`weight_decay = 0`) steps the entries outside the mask, and as the
/// unmasked one steps those inside.
///
/// The ranges may come in any order, overlap or touch: the mask is their
/// union, kept as sorted, disjoint, non-empty ranges. The default mask is
/// empty: an optimizer given it decays nothing (unlike one without a mask,
/// which decays everything).
///
/// ```
/// use optim::{AdamW, DecayMask, Optimizer};
/// // Parameters 0..4 are a weight matrix, 4..6 its bias.
/// let mask = DecayMask::range(0..4)?;
/// let mut opt = AdamW::new(0.1, 0.9, 0.999, 1e-8, 0.5)?.with_decay_mask(mask);
/// let mut w = [2.0f64; 6];
/// opt.step(&mut w, &[0.0; 6])?; // zero gradient: only the decay acts
/// assert_eq!(w, [1.9, 1.9, 1.9, 1.9, 2.0, 2.0]);
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DecayMask {
    /// Sorted, disjoint, non-empty, not touching.
    ranges: Vec<Range<usize>>,
}

impl DecayMask {
    /// The union of `ranges`, in any order.
    ///
    /// # Errors
    /// [`Error::InvalidDecayMask`] for a range whose start is past its end
    /// (`5..3`); an empty range (`3..3`) adds nothing.
    pub fn new(ranges: impl IntoIterator<Item = Range<usize>>) -> Result<Self> {
        let mut v: Vec<Range<usize>> = Vec::new();
        for (index, r) in ranges.into_iter().enumerate() {
            if r.start > r.end {
                return Err(Error::InvalidDecayMask {
                    index,
                    start: r.start,
                    end: r.end,
                });
            }
            if r.start < r.end {
                v.push(r);
            }
        }
        v.sort_by_key(|r| r.start);
        let mut ranges: Vec<Range<usize>> = Vec::with_capacity(v.len());
        for r in v {
            match ranges.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => ranges.push(r),
            }
        }
        Ok(Self { ranges })
    }

    /// The entries of one range: `DecayMask::range(0..4)` (clippy reads
    /// `DecayMask::new([0..4])` as a likely slip for `(0..4).collect()`).
    ///
    /// # Errors
    /// As [`DecayMask::new`].
    pub fn range(range: Range<usize>) -> Result<Self> {
        Self::new(std::iter::once(range))
    }

    /// The decayed entries: sorted, disjoint ranges, none empty and no two
    /// touching.
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    /// Whether entry `i` is decayed.
    pub fn contains(&self, i: usize) -> bool {
        let k = self.ranges.partition_point(|r| r.end <= i);
        self.ranges.get(k).is_some_and(|r| r.contains(&i))
    }

    /// The number of decayed entries.
    pub fn len(&self) -> usize {
        self.ranges.iter().map(|r| r.len()).sum()
    }

    /// Whether no entry is decayed.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// One past the last decayed entry (0 for an empty mask): the least
    /// parameter length the mask fits.
    pub fn end(&self) -> usize {
        self.ranges.last().map_or(0, |r| r.end)
    }

    /// How [`OptimizerState::settings`](crate::OptimizerState::settings)
    /// records the mask, so that a state loads only into an optimizer with
    /// the same one: `decay_mask_ranges` (how many ranges),
    /// `decay_mask_entries` (how many entries) and `decay_mask_hash` (an
    /// FNV-1a hash of the ranges' bounds, 52 bits, exact in an `f64`).
    pub(crate) fn settings(&self) -> Settings {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for r in &self.ranges {
            for byte in (r.start as u64)
                .to_le_bytes()
                .into_iter()
                .chain((r.end as u64).to_le_bytes())
            {
                h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        vec![
            ("decay_mask_ranges", self.ranges.len() as f64),
            ("decay_mask_entries", self.len() as f64),
            ("decay_mask_hash", (h >> 12) as f64),
        ]
    }
}

/// Calls `f(range, decayed)` for consecutive ranges covering `0..n`, in
/// order: all of it decayed without a mask. The mask must fit `n`
/// ([`check_fits`]).
pub(crate) fn for_each_segment(
    mask: Option<&DecayMask>,
    n: usize,
    mut f: impl FnMut(Range<usize>, bool),
) {
    let Some(mask) = mask else {
        f(0..n, true);
        return;
    };
    let mut at = 0;
    for r in &mask.ranges {
        if at < r.start {
            f(at..r.start, false);
        }
        f(r.clone(), true);
        at = r.end;
    }
    if at < n {
        f(at..n, false);
    }
}

/// [`Error::DecayMaskOutOfRange`] unless the mask fits `n` parameters.
pub(crate) fn check_fits(
    optimizer: &'static str,
    mask: Option<&DecayMask>,
    n: usize,
) -> Result<()> {
    match mask {
        Some(m) if m.end() > n => Err(Error::DecayMaskOutOfRange {
            optimizer,
            end: m.end(),
            len: n,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_any_order_overlapping_or_touching_become_their_union() {
        let m = DecayMask::new([8..9, 0..2, 1..4, 4..5, 6..6, 10..12]).unwrap();
        assert_eq!(m.ranges(), &[0..5, 8..9, 10..12]);
        assert_eq!((m.len(), m.end(), m.is_empty()), (8, 12, false));
        let members: Vec<usize> = (0..13).filter(|&i| m.contains(i)).collect();
        assert_eq!(members, [0, 1, 2, 3, 4, 8, 10, 11]);
        assert!(DecayMask::range(3..3).unwrap().is_empty());
        assert_eq!(
            DecayMask::range(2..5).unwrap().ranges().to_vec(),
            vec![2..5]
        );
    }

    #[test]
    fn a_range_inside_another_or_sharing_its_start_leaves_the_outer_end() {
        let m = DecayMask::new([0..10, 2..3, 0..2, 12..14, 12..13]).unwrap();
        assert_eq!(m.ranges(), &[0..10, 12..14]);
    }

    #[test]
    fn a_reversed_range_is_an_error_naming_it() {
        let (start, end) = (5, 3);
        let e = DecayMask::new([0..2, start..end]).unwrap_err();
        assert_eq!(
            e,
            Error::InvalidDecayMask {
                index: 1,
                start: 5,
                end: 3
            }
        );
        assert_eq!(
            e.to_string(),
            "decay mask: range 1 is 5..3, expected a start no later than its end"
        );
    }

    #[test]
    fn segments_cover_every_entry_once_in_order_with_the_mask_membership() {
        let m = DecayMask::new([2..4, 6..7]).unwrap();
        let mut seen = Vec::new();
        for_each_segment(Some(&m), 9, |r, on| seen.push((r, on)));
        assert_eq!(
            seen,
            [
                (0..2, false),
                (2..4, true),
                (4..6, false),
                (6..7, true),
                (7..9, false)
            ]
        );
        seen.clear();
        for_each_segment(None, 3, |r, on| seen.push((r, on)));
        assert_eq!(seen, [(0..3, true)]);
        seen.clear();
        let whole = DecayMask::range(0..3).unwrap();
        for_each_segment(Some(&whole), 3, |r, on| seen.push((r, on)));
        assert_eq!(seen, [(0..3, true)]);
    }

    #[test]
    fn the_recorded_settings_tell_masks_apart_and_are_exact_integers() {
        let a = DecayMask::new([0..4, 6..8]).unwrap().settings();
        let b = DecayMask::new([1..5, 6..8]).unwrap().settings();
        let c = DecayMask::new([6..8, 0..4]).unwrap().settings();
        assert_eq!(a, c);
        assert_eq!(&a[..2], &b[..2]); // same counts ...
        assert_ne!(a[2], b[2]); // ... told apart by the hash
        for (_, v) in a.iter().chain(&b) {
            assert!(v.fract() == 0.0 && *v < 2f64.powi(53));
        }
    }

    /// Every mask of at most two ranges within `0..=12`, each once: no two
    /// share their settings, whichever range or bound tells them apart,
    /// and the hash holds 52 bits (an integer `f64` holds exactly).
    #[test]
    fn no_two_small_masks_share_their_recorded_settings() {
        let bounds = || (0..=12usize).flat_map(|a| (a + 1..=12).map(move |b| a..b));
        let mut masks: Vec<DecayMask> = vec![DecayMask::default()];
        for r in bounds() {
            masks.push(DecayMask::range(r.clone()).unwrap());
            for s in bounds().filter(|s| s.start > r.end) {
                masks.push(DecayMask::new([r.clone(), s]).unwrap());
            }
        }
        let mut seen = std::collections::HashMap::new();
        for m in &masks {
            let s = m.settings();
            let hash = s[2].1;
            assert!(
                hash.fract() == 0.0 && (0.0..2f64.powi(52)).contains(&hash),
                "{m:?}"
            );
            let key: Vec<u64> = s.iter().map(|(_, v)| v.to_bits()).collect();
            if let Some(other) = seen.insert(key, m) {
                panic!("{m:?} and {other:?} record the same settings");
            }
        }
        assert_eq!(seen.len(), 1 + 78 + 715);
    }

    #[test]
    fn a_mask_past_the_parameters_is_refused() {
        let m = DecayMask::range(0..5).unwrap();
        assert!(check_fits("adam", Some(&m), 5).is_ok());
        assert_eq!(
            check_fits("adam", Some(&m), 4).unwrap_err().to_string(),
            "adam: the decay mask's ranges end at 5 (exclusive), past the 4 parameters"
        );
    }
}
