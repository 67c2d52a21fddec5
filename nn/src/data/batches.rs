//! Mini-batches (seed section 5.3, SEED-NOTES note 8).
//!
//! With `J = sum_k J_k` over the mini-batches `B_k` of an epoch, one step on
//! each `J_k` in turn is a Lie-Trotter splitting of the gradient flow of `J`.
//! A [`Batcher`] gives, for each epoch, the index slices `B_1, ..., B_K`:
//! reshuffled every epoch (the default), in a fixed cyclic order, or drawn
//! with replacement. A batch size of at least the data set's size gives one
//! full batch: every step on the gradient of the whole `J` (steepest
//! descent with the seed's (5.2)).
//!
//! The order of epoch `e` depends on `(seed, e)` alone, not on the epochs
//! drawn before, so training resumed from a checkpoint at epoch `e`
//! continues with the same batches as an uninterrupted run.

use super::error::{DataError, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// How the rows of an epoch are ordered into mini-batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BatchOrder {
    /// A fresh random permutation every epoch, cut into consecutive batches
    /// (random reshuffling; the default).
    #[default]
    Reshuffled,
    /// The data set's own order, the same every epoch (a fixed cyclic
    /// splitting). [`Dataset::split`](super::Dataset::split) returns rows in
    /// shuffled order, so this is a fixed random order for split data.
    Cyclic,
    /// `n` indices drawn uniformly with replacement every epoch (some rows
    /// repeat, some are missed).
    WithReplacement,
}

/// Produces the mini-batches of each epoch as slices of row indices.
///
/// It owns one index buffer of `n_samples` entries, refilled each epoch: no
/// allocation after construction.
///
/// ```
/// use nn::data::{BatchOrder, Batcher};
/// let mut b = Batcher::new(10, 4)?.order(BatchOrder::Cyclic);
/// let epoch: Vec<Vec<usize>> = b.epoch(0).map(|s| s.to_vec()).collect();
/// assert_eq!(epoch, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
/// let mut b = b.drop_last(true);
/// assert_eq!(b.epoch(0).count(), 2);
/// # Ok::<(), nn::data::DataError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Batcher {
    n_samples: usize,
    batch_size: usize,
    order: BatchOrder,
    drop_last: bool,
    seed: u64,
    indices: Vec<usize>,
}

/// Domain tag mixed into the per-epoch seed, so the batch stream is not the
/// stream of another seeded use of the same `seed` (splits, initialisation).
const BATCH_STREAM: u64 = 0x6261_7463_6865_7321; // "batches!"

impl Batcher {
    /// Batches of `batch_size` over `n_samples` rows; reshuffled, keeping
    /// the last short batch, seed 0. A `batch_size >= n_samples` gives one
    /// full batch per epoch.
    ///
    /// # Errors
    /// [`DataError::OutOfRange`] if `batch_size` is 0.
    pub fn new(n_samples: usize, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::OutOfRange {
                what: "batch size",
                value: 0.0,
                range: ">= 1",
            });
        }
        Ok(Batcher {
            n_samples,
            batch_size,
            order: BatchOrder::default(),
            drop_last: false,
            seed: 0,
            indices: Vec::with_capacity(n_samples),
        })
    }

    /// One batch of all rows per epoch (every step on the gradient of the
    /// whole `J`).
    pub fn full_batch(n_samples: usize) -> Self {
        Self::new(n_samples, n_samples.max(1))
            .expect("batch size >= 1")
            .order(BatchOrder::Cyclic)
    }

    /// Sets the order (default [`BatchOrder::Reshuffled`]).
    pub fn order(mut self, order: BatchOrder) -> Self {
        self.order = order;
        self
    }

    /// Whether to drop the last batch of an epoch when it is shorter than
    /// the batch size (default `false`). A batch size `>= n_samples` still
    /// gives one full batch.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Sets the seed (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The number of rows.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// The batch size, capped at the number of rows.
    pub fn batch_size(&self) -> usize {
        self.batch_size.min(self.n_samples).max(1)
    }

    /// The configured order.
    pub fn batch_order(&self) -> BatchOrder {
        self.order
    }

    /// The number of batches in each epoch.
    pub fn batches_per_epoch(&self) -> usize {
        let b = self.batch_size();
        if self.drop_last {
            self.n_samples / b
        } else {
            self.n_samples.div_ceil(b)
        }
    }

    /// The number of rows used in each epoch (`n_samples`, less the dropped
    /// remainder).
    fn used(&self) -> usize {
        self.batches_per_epoch() * self.batch_size()
    }

    /// The random generator of `epoch`: a function of `(seed, epoch)` only.
    fn epoch_rng(&self, epoch: u64) -> StdRng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        key[8..16].copy_from_slice(&epoch.to_le_bytes());
        key[16..24].copy_from_slice(&BATCH_STREAM.to_le_bytes());
        StdRng::from_seed(key)
    }

    /// The batches of epoch `epoch` (0-based), as slices of row indices.
    /// The result depends only on the configuration, the seed and `epoch`.
    pub fn epoch(&mut self, epoch: u64) -> Batches<'_> {
        let n = self.n_samples;
        self.indices.clear();
        match self.order {
            BatchOrder::Cyclic => self.indices.extend(0..n),
            BatchOrder::Reshuffled => {
                let mut rng = self.epoch_rng(epoch);
                self.indices.extend(0..n);
                self.indices.shuffle(&mut rng);
            }
            BatchOrder::WithReplacement => {
                let mut rng = self.epoch_rng(epoch);
                self.indices.extend((0..n).map(|_| rng.random_range(0..n)));
            }
        }
        let used = self.used().min(n);
        Batches {
            chunks: self.indices[..used].chunks(self.batch_size()),
        }
    }
}

/// The mini-batches of one epoch; see [`Batcher::epoch`].
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    chunks: std::slice::Chunks<'a, usize>,
}

impl<'a> Iterator for Batches<'a> {
    type Item = &'a [usize];

    fn next(&mut self) -> Option<&'a [usize]> {
        self.chunks.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Batches<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_batch_size_is_rejected() {
        assert!(matches!(
            Batcher::new(5, 0),
            Err(DataError::OutOfRange {
                what: "batch size",
                ..
            })
        ));
    }

    #[test]
    fn batch_size_above_n_with_drop_last_still_gives_one_full_batch() {
        let mut b = Batcher::new(5, 8).unwrap().drop_last(true);
        let batches: Vec<&[usize]> = b.epoch(3).collect();
        assert_eq!(batches.len(), 1);
        let mut all = batches[0].to_vec();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn empty_data_gives_no_batch() {
        assert_eq!(Batcher::new(0, 4).unwrap().epoch(0).count(), 0);
        assert_eq!(Batcher::full_batch(0).epoch(0).count(), 0);
    }

    #[test]
    fn epoch_does_not_reallocate_the_index_buffer() {
        let mut b = Batcher::new(100, 7).unwrap();
        let p = b.epoch(0).next().unwrap().as_ptr();
        for e in 1..5 {
            assert_eq!(b.epoch(e).next().unwrap().as_ptr(), p);
        }
    }

    #[test]
    fn batch_count_matches_the_iterator_length() {
        for (n, bs, drop) in [(10, 3, false), (10, 3, true), (9, 3, true), (1, 1, false)] {
            let mut b = Batcher::new(n, bs).unwrap().drop_last(drop);
            let k = b.batches_per_epoch();
            let it = b.epoch(0);
            assert_eq!((it.len(), it.count()), (k, k), "n={n} bs={bs} drop={drop}");
        }
    }
}
