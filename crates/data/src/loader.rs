//! A prefetching loader: a worker thread collates batches ahead of the consumer into a
//! bounded `crossbeam` channel.
//!
//! The order is a pure function of `(seed, epoch)`: epoch `e` visits the examples in the
//! permutation [`epoch_order`] gives (a seeded Fisher–Yates shuffle, or file order), cut
//! into consecutive batches. A [`Cursor`] `(epoch, batch)` names the next batch, so a run
//! that saved the cursor of its last consumed batch ([`Batch::next`]) and restarts the
//! loader from it sees exactly the batches it would have seen without stopping.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam::channel::{Receiver, bounded};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use prefopt_core::SplitMix64;

/// Loader settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderConfig {
    /// Examples per batch.
    pub batch_size: usize,
    /// Shuffle each epoch with a seeded RNG (`false`: file order).
    pub shuffle: bool,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Drop a last, smaller batch (`false`: keep it).
    pub drop_last: bool,
    /// Batches collated ahead (channel capacity, at least 1).
    pub prefetch: usize,
    /// Stop after this many epochs (`None`: never stop).
    pub epochs: Option<u64>,
}

impl LoaderConfig {
    /// Shuffled, seed 0, keep the last batch, prefetch 2, one epoch.
    pub fn new(batch_size: usize) -> Self {
        Self {
            batch_size,
            shuffle: true,
            seed: 0,
            drop_last: false,
            prefetch: 2,
            epochs: Some(1),
        }
    }
}

/// Position in the batch stream: the next batch to produce.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Cursor {
    /// Epoch, from 0.
    pub epoch: u64,
    /// Batch within the epoch, from 0.
    pub batch: u64,
}

/// One collated batch and where it sits in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<B> {
    /// The collated data.
    pub data: B,
    /// Indices of its examples in the data set (to look up cached reference log-probs).
    pub indices: Vec<usize>,
    /// This batch's position.
    pub position: Cursor,
    /// The position after it: save this to resume.
    pub next: Cursor,
}

/// The visiting order of epoch `epoch`.
pub fn epoch_order(len: usize, config: &LoaderConfig, epoch: u64) -> Vec<usize> {
    if config.shuffle {
        shuffled_epoch(len, config.seed, epoch)
    } else {
        (0..len).collect()
    }
}

/// The seeded permutation of `0..len` for epoch `epoch` (its own RNG stream of `seed`): the one
/// per-epoch shuffle behind the training loader and GRPO's prompt order.
pub fn shuffled_epoch(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    SplitMix64::for_stream(seed, epoch).shuffle(&mut order);
    order
}

/// Number of batches in an epoch of `len` examples.
pub fn batches_per_epoch(len: usize, config: &LoaderConfig) -> u64 {
    let b = config.batch_size.max(1);
    (if config.drop_last {
        len / b
    } else {
        len.div_ceil(b)
    }) as u64
}

/// The prefetching loader; iterate it to get batches.
#[derive(Debug)]
pub struct Loader<B> {
    receiver: Option<Receiver<Result<Batch<B>>>>,
    worker: Option<JoinHandle<()>>,
    batches_per_epoch: u64,
}

impl<B: Send + 'static> Loader<B> {
    /// Starts the worker at `start`, collating `examples` with `collate`.
    pub fn new<T, F>(
        examples: Arc<Vec<T>>,
        config: LoaderConfig,
        start: Cursor,
        collate: F,
    ) -> Result<Self>
    where
        T: Send + Sync + 'static,
        F: Fn(&[&T]) -> Result<B> + Send + 'static,
    {
        if config.batch_size == 0 {
            return Err(DataError::InvalidOption("batch_size must be ≥ 1".into()));
        }
        let per_epoch = batches_per_epoch(examples.len(), &config);
        if per_epoch == 0 {
            return Err(DataError::InvalidOption(format!(
                "{} examples make no batch of {} (drop_last = {})",
                examples.len(),
                config.batch_size,
                config.drop_last
            )));
        }
        let (sender, receiver) = bounded(config.prefetch.max(1));
        let worker = std::thread::Builder::new()
            .name("prefopt-data-loader".into())
            .spawn(move || {
                let mut cursor = Cursor {
                    epoch: start.epoch + start.batch / per_epoch,
                    batch: start.batch % per_epoch,
                };
                while config.epochs.is_none_or(|n| cursor.epoch < n) {
                    let order = epoch_order(examples.len(), &config, cursor.epoch);
                    while cursor.batch < per_epoch {
                        let from = cursor.batch as usize * config.batch_size;
                        let to = (from + config.batch_size).min(order.len());
                        let indices = order[from..to].to_vec();
                        let refs: Vec<&T> = indices.iter().map(|&i| &examples[i]).collect();
                        let position = cursor;
                        cursor.batch += 1;
                        if cursor.batch == per_epoch {
                            cursor = Cursor {
                                epoch: cursor.epoch + 1,
                                batch: 0,
                            };
                        }
                        let item = collate(&refs).map(|data| Batch {
                            data,
                            indices,
                            position,
                            next: cursor,
                        });
                        let failed = item.is_err();
                        if sender.send(item).is_err() || failed {
                            return; // consumer gone, or error delivered
                        }
                        if cursor.batch == 0 {
                            break;
                        }
                    }
                }
            })
            .map_err(|e| DataError::Loader(format!("cannot start worker: {e}")))?;
        Ok(Self {
            receiver: Some(receiver),
            worker: Some(worker),
            batches_per_epoch: per_epoch,
        })
    }
}

impl<B> Loader<B> {
    /// Batches in one epoch.
    pub fn batches_per_epoch(&self) -> u64 {
        self.batches_per_epoch
    }
}

impl<B> Iterator for Loader<B> {
    type Item = Result<Batch<B>>;

    fn next(&mut self) -> Option<Self::Item> {
        let receiver = self.receiver.as_ref()?;
        match receiver.recv() {
            Ok(item) => Some(item),
            Err(_) => {
                // The worker finished (or panicked): report a panic once.
                self.receiver = None;
                let worker = self.worker.take()?;
                match worker.join() {
                    Ok(()) => None,
                    Err(_) => Some(Err(DataError::Loader("worker thread panicked".into()))),
                }
            }
        }
    }
}

impl<B> Drop for Loader<B> {
    fn drop(&mut self) {
        // Closing the channel makes a blocked worker's `send` fail, so it exits.
        self.receiver = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(loader: Loader<Vec<u32>>) -> Vec<(Cursor, Vec<u32>)> {
        loader
            .map(|b| b.map(|b| (b.position, b.data)).unwrap())
            .collect()
    }

    fn ids_loader(n: u32, config: LoaderConfig, start: Cursor) -> Loader<Vec<u32>> {
        let data: Arc<Vec<u32>> = Arc::new((0..n).collect());
        Loader::new(data, config, start, |xs: &[&u32]| {
            Ok(xs.iter().map(|&&x| x).collect())
        })
        .unwrap()
    }

    #[test]
    fn one_epoch_covers_every_example_once() {
        let mut config = LoaderConfig::new(3);
        config.seed = 11;
        let batches = collect(ids_loader(10, config, Cursor::default()));
        assert_eq!(batches.len(), 4);
        assert_eq!(batches.last().map(|b| b.1.len()), Some(1));
        let mut all: Vec<u32> = batches.iter().flat_map(|b| b.1.clone()).collect();
        assert_ne!(all, (0..10).collect::<Vec<_>>(), "shuffled");
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn same_seed_same_stream_and_epochs_differ() {
        let mut config = LoaderConfig::new(4);
        config.epochs = Some(3);
        config.seed = 5;
        let a = collect(ids_loader(8, config, Cursor::default()));
        let b = collect(ids_loader(8, config, Cursor::default()));
        assert_eq!(a, b);
        assert_eq!(a.len(), 6);
        assert_ne!(
            [a[0].1.clone(), a[1].1.clone()].concat(),
            [a[2].1.clone(), a[3].1.clone()].concat()
        );
        config.seed = 6;
        assert_ne!(a, collect(ids_loader(8, config, Cursor::default())));
    }

    #[test]
    fn resuming_from_a_cursor_continues_the_stream() {
        let mut config = LoaderConfig::new(3);
        config.epochs = Some(3);
        config.drop_last = true;
        config.prefetch = 1;
        let full = collect(ids_loader(10, config, Cursor::default()));
        assert_eq!(full.len(), 9);
        // Consume 4 batches, keep the cursor, drop the loader mid-stream.
        let mut loader = ids_loader(10, config, Cursor::default());
        let mut cursor = Cursor::default();
        for _ in 0..4 {
            cursor = loader.next().unwrap().unwrap().next;
        }
        drop(loader);
        assert_eq!(cursor, Cursor { epoch: 1, batch: 1 });
        let resumed = collect(ids_loader(10, config, cursor));
        assert_eq!(resumed, full[4..].to_vec());
    }

    #[test]
    fn unshuffled_is_file_order_and_errors_propagate() {
        let mut config = LoaderConfig::new(2);
        config.shuffle = false;
        let batches = collect(ids_loader(5, config, Cursor::default()));
        assert_eq!(
            batches.iter().map(|b| b.1.clone()).collect::<Vec<_>>(),
            vec![vec![0, 1], vec![2, 3], vec![4]]
        );
        let data = Arc::new(vec![1u32, 2, 3]);
        let mut failing = Loader::new(
            data,
            config,
            Cursor::default(),
            |_: &[&u32]| -> Result<()> { Err(DataError::InvalidOption("boom".into())) },
        )
        .unwrap();
        assert!(failing.next().unwrap().is_err());
        assert!(failing.next().is_none());
        let too_small = Loader::new(
            Arc::new(vec![1u32]),
            LoaderConfig {
                drop_last: true,
                ..config
            },
            Cursor::default(),
            |_: &[&u32]| Ok(()),
        );
        assert!(too_small.is_err());
    }
}
