//! Truncated back-propagation through time: the token stream cut into `streams` parallel
//! rows, read in windows of `bptt` steps.
//!
//! The standard layout (Zaremba et al.; PyTorch's `word_language_model`): the id sequence of
//! a split is trimmed to a multiple of `streams` and cut into `streams` contiguous rows, row
//! `s` holding tokens `[s·len, (s+1)·len)`. Window `w` covers positions `[w·bptt,
//! w·bptt + seq)` of every row with `seq = min(bptt, len − 1 − w·bptt)`, and its targets are
//! the same positions shifted by one. Consecutive windows continue each row, so the hidden
//! state at the end of window `w` is the right initial state of window `w + 1`.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;
use burn::tensor::{Int, TensorData};

use super::corpus::Split;
use crate::error::{Error, Result};

/// A split's ids cut into parallel streams, row-major `[streams][len]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streams {
    data: Vec<u32>,
    streams: usize,
    len: usize,
}

impl Streams {
    /// Cuts `ids` into `streams` rows of `⌊ids.len() / streams⌋` tokens (the remainder is
    /// dropped).
    ///
    /// Errors: [`Error::InvalidArgument`] for zero streams or fewer than 2 tokens per row (no
    /// input/target pair).
    pub fn new(ids: &[u32], streams: usize) -> Result<Self> {
        if streams == 0 {
            return Err(Error::InvalidArgument(
                "the number of streams (batch size) must be at least 1".into(),
            ));
        }
        let len = ids.len() / streams;
        if len < 2 {
            return Err(Error::InvalidArgument(format!(
                "{} tokens cannot fill {streams} streams of at least 2 tokens",
                ids.len()
            )));
        }
        Ok(Self {
            data: ids[..streams * len].to_vec(),
            streams,
            len,
        })
    }

    /// Number of rows.
    pub fn streams(&self) -> usize {
        self.streams
    }

    /// Tokens per row.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a row holds at least two tokens.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Row `s`.
    pub fn row(&self, s: usize) -> &[u32] {
        &self.data[s * self.len..][..self.len]
    }

    /// Number of predicted tokens over all rows: `streams · (len − 1)`.
    pub fn predicted_tokens(&self) -> usize {
        self.streams * (self.len - 1)
    }

    /// Number of windows of `bptt` steps: `⌈(len − 1) / bptt⌉` (`bptt ≥ 1`).
    pub fn windows(&self, bptt: usize) -> usize {
        (self.len - 1).div_ceil(bptt.max(1))
    }

    /// Window `index` of `bptt` steps, `None` past the end.
    pub fn window(&self, index: usize, bptt: usize) -> Option<BpttWindow> {
        let bptt = bptt.max(1);
        let start = index.checked_mul(bptt)?;
        if start >= self.len - 1 {
            return None;
        }
        let seq = bptt.min(self.len - 1 - start);
        let mut inputs = Vec::with_capacity(self.streams * seq);
        let mut targets = Vec::with_capacity(self.streams * seq);
        for s in 0..self.streams {
            let row = self.row(s);
            inputs.extend_from_slice(&row[start..start + seq]);
            targets.extend_from_slice(&row[start + 1..start + 1 + seq]);
        }
        Some(BpttWindow {
            index,
            streams: self.streams,
            seq,
            inputs,
            targets,
        })
    }
}

/// One window of every stream: inputs and next-token targets, row-major `[streams][seq]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpttWindow {
    /// Position of the window in its split (0 = the first window: fresh hidden state).
    pub index: usize,
    /// Rows.
    pub streams: usize,
    /// Time steps.
    pub seq: usize,
    /// Input ids.
    pub inputs: Vec<u32>,
    /// Target ids (inputs shifted by one).
    pub targets: Vec<u32>,
}

/// The windows of one split as a Burn [`Dataset`], in order (index = window index).
#[derive(Debug, Clone)]
pub struct BpttDataset {
    streams: Arc<Streams>,
    bptt: usize,
    windows: usize,
}

impl BpttDataset {
    /// All windows of `streams` with `bptt` steps.
    ///
    /// Errors: [`Error::InvalidArgument`] for `bptt == 0`.
    pub fn new(streams: Arc<Streams>, bptt: usize) -> Result<Self> {
        if bptt == 0 {
            return Err(Error::InvalidArgument("bptt must be at least 1".into()));
        }
        let windows = streams.windows(bptt);
        Ok(Self {
            streams,
            bptt,
            windows,
        })
    }

    /// Keeps only the first `windows` windows (a shorter epoch; the hidden state still
    /// flows from window to window).
    pub fn truncated(mut self, windows: usize) -> Self {
        self.windows = self.windows.min(windows);
        self
    }

    /// Number of windows (the same as `Dataset::len`).
    pub fn len_windows(&self) -> usize {
        self.windows
    }

    /// Steps per window.
    pub fn bptt(&self) -> usize {
        self.bptt
    }

    /// The underlying streams.
    pub fn streams(&self) -> &Arc<Streams> {
        &self.streams
    }
}

/// A window index past the end of the dataset.
#[derive(Debug, thiserror::Error)]
#[error("window {index} is past the last of {windows} windows")]
struct WindowOutOfRange {
    index: usize,
    windows: usize,
}

impl Dataset<BpttWindow> for BpttDataset {
    fn get(&self, index: usize) -> core::result::Result<BpttWindow, DatasetError> {
        let out_of_range = || {
            DatasetError::new(WindowOutOfRange {
                index,
                windows: self.windows,
            })
        };
        if index >= self.windows {
            return Err(out_of_range());
        }
        self.streams
            .window(index, self.bptt)
            .ok_or_else(out_of_range)
    }

    fn len(&self) -> usize {
        self.windows
    }
}

/// A window on a device, what the models' training and inference steps take.
#[derive(Debug, Clone)]
pub struct LmBatch {
    /// Input ids `[streams, seq]`.
    pub inputs: Tensor<2, Int>,
    /// Target ids `[streams, seq]`.
    pub targets: Tensor<2, Int>,
    /// Index of the (first) window; 0 starts from a fresh hidden state.
    pub window: usize,
    /// The split the window comes from (each split carries its own hidden state).
    pub split: Split,
}

/// Turns windows into [`LmBatch`]es for one split.
///
/// The data loader must deliver the windows in order and one at a time (`batch_size(1)`, no
/// shuffling): the batch dimension of a window is already the `streams` rows. Several
/// windows handed over at once are concatenated along time, which is correct when they are
/// consecutive.
#[derive(Debug, Clone, Copy)]
pub struct BpttBatcher {
    split: Split,
}

impl BpttBatcher {
    /// A batcher for `split`.
    pub fn new(split: Split) -> Self {
        Self { split }
    }
}

/// The ids of `windows` (`[streams][seq]` each) concatenated along time, as an int tensor.
fn stacked(
    windows: &[BpttWindow],
    pick: fn(&BpttWindow) -> &[u32],
    device: &Device,
) -> Tensor<2, Int> {
    let streams = windows.first().map_or(0, |w| w.streams);
    let seq: usize = windows.iter().map(|w| w.seq).sum();
    let mut ids = Vec::with_capacity(streams * seq);
    for s in 0..streams {
        for w in windows {
            ids.extend(
                pick(w)[s * w.seq..][..w.seq]
                    .iter()
                    .map(|&id| i64::from(id)),
            );
        }
    }
    Tensor::from_data(TensorData::new(ids, [streams, seq]), device)
}

impl Batcher<BpttWindow, LmBatch> for BpttBatcher {
    fn batch(&self, items: Vec<BpttWindow>, device: &Device) -> LmBatch {
        LmBatch {
            inputs: stacked(&items, |w| &w.inputs, device),
            targets: stacked(&items, |w| &w.targets, device),
            window: items.first().map_or(0, |w| w.index),
            split: self.split,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u32) -> Vec<u32> {
        (0..n).collect()
    }

    #[test]
    fn rows_are_contiguous_and_remainder_dropped() {
        let s = Streams::new(&ids(11), 2).unwrap();
        assert_eq!((s.streams(), s.len()), (2, 5));
        assert_eq!(s.row(0), [0, 1, 2, 3, 4]);
        assert_eq!(s.row(1), [5, 6, 7, 8, 9]);
        assert_eq!(s.predicted_tokens(), 8);
    }

    #[test]
    fn windows_shift_targets_by_one_and_last_is_short() {
        let s = Streams::new(&ids(10), 2).unwrap(); // rows 0..5, 5..10
        assert_eq!(s.windows(3), 2); // positions 0..3 then 3..4
        let w0 = s.window(0, 3).unwrap();
        assert_eq!((w0.seq, w0.index), (3, 0));
        assert_eq!(w0.inputs, [0, 1, 2, 5, 6, 7]);
        assert_eq!(w0.targets, [1, 2, 3, 6, 7, 8]);
        let w1 = s.window(1, 3).unwrap();
        assert_eq!(w1.seq, 1);
        assert_eq!(w1.inputs, [3, 8]);
        assert_eq!(w1.targets, [4, 9]);
        assert!(s.window(2, 3).is_none());
    }

    #[test]
    fn windows_cover_every_prediction_once() {
        let s = Streams::new(&ids(1000), 7).unwrap();
        let total: usize = (0..s.windows(30))
            .map(|w| s.window(w, 30).unwrap().targets.len())
            .sum();
        assert_eq!(total, s.predicted_tokens());
    }

    #[test]
    fn ptb_train_has_1550_windows() {
        // 929,589 tokens in 20 streams of 46,479; (46,479 − 1) / 30 → 1,549 full + 1 short.
        let s = Streams::new(&vec![0; 929_589], 20).unwrap();
        assert_eq!(s.windows(30), 1550);
    }

    #[test]
    fn too_little_data_is_rejected() {
        assert!(matches!(
            Streams::new(&ids(3), 2),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            Streams::new(&ids(3), 0),
            Err(Error::InvalidArgument(_))
        ));
        let s = Arc::new(Streams::new(&ids(8), 2).unwrap());
        assert!(matches!(
            BpttDataset::new(s, 0),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn dataset_and_batcher_produce_tensors() {
        let s = Arc::new(Streams::new(&ids(20), 2).unwrap()); // rows 0..10, 10..20
        let dataset = BpttDataset::new(s, 4).unwrap();
        assert_eq!(dataset.len(), 3);
        assert!(dataset.get(3).is_err());
        let short = dataset.clone().truncated(2);
        assert_eq!(short.len(), 2);
        let device = Device::flex();
        let batch = BpttBatcher::new(Split::Valid).batch(vec![dataset.get(1).unwrap()], &device);
        assert_eq!(batch.window, 1);
        assert_eq!(batch.split, Split::Valid);
        assert_eq!(batch.inputs.dims(), [2, 4]);
        let inputs: Vec<i64> = batch.inputs.into_data().try_to_vec_as::<i64>().unwrap();
        assert_eq!(inputs, [4, 5, 6, 7, 14, 15, 16, 17]);
        let targets: Vec<i64> = batch.targets.into_data().try_to_vec_as::<i64>().unwrap();
        assert_eq!(targets, [5, 6, 7, 8, 15, 16, 17, 18]);
        // Two consecutive windows at once are joined along time.
        let joined = BpttBatcher::new(Split::Train).batch(
            vec![dataset.get(0).unwrap(), dataset.get(1).unwrap()],
            &device,
        );
        assert_eq!(joined.inputs.dims(), [2, 8]);
        assert_eq!(joined.window, 0);
    }
}
