//! In-memory image classification datasets and batch iteration.
//!
//! An [`ImageDataset`] holds every image as `f32` in one flat NCHW buffer plus one
//! label per image. Loaders (see [`loaders`](super::loaders)) scale raw pixels to
//! `0..=1` and then standardise each channel with [`ImageDataset::normalize`]. Splits
//! and subsets keep the normalisation of the dataset they come from, so a validation
//! split is always normalised with the same constants as its training split.
//!
//! Batches are built straight from the flat buffer: the rows of one batch are copied
//! once into a fresh `Vec<f32>` that becomes the tensor's storage
//! ([`TensorData::new`]), so there is one host copy per batch and no intermediate
//! per-image tensors.

use crate::error::{NasError, Result};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Per-channel mean and standard deviation used to standardise a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelStats {
    /// Mean of each channel (of the `0..=1` scaled pixels).
    pub mean: Vec<f32>,
    /// Standard deviation of each channel.
    pub std: Vec<f32>,
}

/// An in-memory image classification dataset (NCHW `f32` pixels, `u32` labels).
#[derive(Clone, Debug)]
pub struct ImageDataset {
    name: String,
    chw: [usize; 3],
    num_classes: usize,
    pixels: Vec<f32>,
    labels: Vec<u32>,
    class_names: Vec<String>,
    stats: Option<ChannelStats>,
}

/// One batch of images and labels on a device.
pub struct Batch {
    /// Images `[n, C, H, W]`.
    pub images: Tensor<4>,
    /// Class indices `[n]`.
    pub labels: Tensor<1, Int>,
    /// Number of images `n`.
    pub len: usize,
}

impl ImageDataset {
    /// A dataset from a flat NCHW buffer and one label per image.
    ///
    /// Class names default to `"0"`, `"1"`, ... Errors with
    /// [`NasError::InvalidValue`] when the buffer length is not
    /// `labels.len() * C * H * W`, a dimension is zero or a label is out of range.
    pub fn new(
        name: impl Into<String>,
        chw: [usize; 3],
        num_classes: usize,
        pixels: Vec<f32>,
        labels: Vec<u32>,
    ) -> Result<Self> {
        let name = name.into();
        let invalid = |field: &str, value: String, allowed: String| NasError::InvalidValue {
            field: format!("dataset `{name}` {field}"),
            value,
            allowed,
        };
        if chw.contains(&0) {
            return Err(invalid("shape", format!("{chw:?}"), "[channels, height, width], all > 0".into()));
        }
        if num_classes == 0 {
            return Err(invalid("num_classes", "0".into(), "at least 1".into()));
        }
        let per_image = chw.iter().product::<usize>();
        if pixels.len() != labels.len() * per_image {
            return Err(invalid(
                "pixels",
                format!("{} values", pixels.len()),
                format!("{} images x {per_image} values per image = {}", labels.len(), labels.len() * per_image),
            ));
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l as usize >= num_classes) {
            return Err(invalid(&format!("label of image {i}"), l.to_string(), format!("0..{num_classes}")));
        }
        let class_names = (0..num_classes).map(|c| c.to_string()).collect();
        Ok(ImageDataset { name, chw, num_classes, pixels, labels, class_names, stats: None })
    }

    /// Replaces the class names (one per class).
    pub fn with_class_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.num_classes {
            return Err(NasError::InvalidValue {
                field: format!("dataset `{}` class_names", self.name),
                value: format!("{} names", names.len()),
                allowed: format!("exactly {} (one per class)", self.num_classes),
            });
        }
        self.class_names = names;
        Ok(self)
    }

    /// Renames the dataset.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Dataset name (for logs and records).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Image shape `[channels, height, width]`.
    pub fn chw(&self) -> [usize; 3] {
        self.chw
    }

    /// Number of values per image (`C * H * W`).
    pub fn image_len(&self) -> usize {
        self.chw.iter().product()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Class names, one per class.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// All pixels, NCHW, flat.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// All labels.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The pixels of image `i` (`C * H * W` values). Panics when out of range.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Number of images of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The normalisation applied so far, if any.
    pub fn channel_stats(&self) -> Option<&ChannelStats> {
        self.stats.as_ref()
    }

    /// Computes the mean and standard deviation of each channel.
    pub fn compute_channel_stats(&self) -> ChannelStats {
        let [c, h, w] = self.chw;
        let plane = h * w;
        let mut sum = vec![0f64; c];
        let mut sum_sq = vec![0f64; c];
        for img in self.pixels.chunks_exact(c * plane) {
            for (ch, values) in img.chunks_exact(plane).enumerate() {
                for &v in values {
                    sum[ch] += v as f64;
                    sum_sq[ch] += (v as f64) * (v as f64);
                }
            }
        }
        let count = (self.len() * plane).max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / count) as f32).collect();
        let std = sum_sq
            .iter()
            .zip(&sum)
            .map(|(sq, s)| {
                let m = s / count;
                ((sq / count - m * m).max(0.0).sqrt()) as f32
            })
            .collect();
        ChannelStats { mean, std }
    }

    /// Standardises every channel to zero mean and unit variance using this
    /// dataset's own statistics (of the current values), and records them. Channels
    /// with (near) zero variance are only centred. Returns the statistics.
    pub fn normalize(&mut self) -> ChannelStats {
        // Stats of the un-normalised values: undo any previous normalisation first.
        if let Some(old) = self.stats.take() {
            let c = self.chw[0];
            let identity = ChannelStats { mean: vec![0.0; c], std: vec![1.0; c] };
            self.stats = Some(old);
            self.normalize_with(&identity);
            self.stats = None;
        }
        let stats = self.compute_channel_stats();
        self.normalize_with(&stats);
        stats
    }

    /// Standardises every channel with the given statistics (e.g. those of a
    /// training set) and records them. A normalisation applied before is undone
    /// first, so `val.normalize_with(train.channel_stats()...)` is always right.
    /// Panics when `stats` has fewer entries than the dataset has channels.
    pub fn normalize_with(&mut self, stats: &ChannelStats) {
        let [c, h, w] = self.chw;
        let plane = h * w;
        let safe = |s: f32| if s > 1e-6 { s } else { 1.0 };
        // v_new = (v_old * s_old + m_old - m_new) / s_new = v_old * a + b
        let (mut a, mut b) = (vec![1f32; c], vec![0f32; c]);
        for ch in 0..c {
            let (s_old, m_old) = match &self.stats {
                Some(old) => (safe(old.std[ch]), old.mean[ch]),
                None => (1.0, 0.0),
            };
            let s_new = safe(stats.std[ch]);
            a[ch] = s_old / s_new;
            b[ch] = (m_old - stats.mean[ch]) / s_new;
        }
        for img in self.pixels.chunks_exact_mut(c * plane) {
            for (ch, values) in img.chunks_exact_mut(plane).enumerate() {
                let (a, b) = (a[ch], b[ch]);
                for v in values {
                    *v = *v * a + b;
                }
            }
        }
        self.stats = Some(stats.clone());
    }

    /// A new dataset with the images at `indices`, in that order (duplicates allowed).
    /// Panics when an index is out of range.
    pub fn select(&self, indices: &[usize]) -> ImageDataset {
        let n = self.image_len();
        let mut pixels = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        ImageDataset {
            name: self.name.clone(),
            chw: self.chw,
            num_classes: self.num_classes,
            pixels,
            labels,
            class_names: self.class_names.clone(),
            stats: self.stats.clone(),
        }
    }

    /// Splits into `(train, val)`, stratified by class: within each class the images
    /// are shuffled with `seed` and `round(val_fraction * class size)` go to the
    /// validation part (at least one when the class has two or more images). Both
    /// parts are then shuffled. Deterministic for a given seed.
    ///
    /// `val_fraction` must lie strictly between 0 and 1.
    pub fn split(&self, val_fraction: f64, seed: u64) -> Result<(ImageDataset, ImageDataset)> {
        if !(val_fraction > 0.0 && val_fraction < 1.0) {
            return Err(NasError::InvalidValue {
                field: "val_fraction".into(),
                value: val_fraction.to_string(),
                allowed: "a fraction strictly between 0 and 1".into(),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); self.num_classes];
        for (i, &l) in self.labels.iter().enumerate() {
            by_class[l as usize].push(i);
        }
        let (mut train, mut val) = (Vec::new(), Vec::new());
        for mut idx in by_class {
            idx.shuffle(&mut rng);
            let mut n_val = (val_fraction * idx.len() as f64).round() as usize;
            if idx.len() >= 2 {
                n_val = n_val.clamp(1, idx.len() - 1);
            }
            val.extend_from_slice(&idx[..n_val]);
            train.extend_from_slice(&idx[n_val..]);
        }
        if train.is_empty() || val.is_empty() {
            return Err(NasError::InvalidValue {
                field: format!("split of dataset `{}`", self.name),
                value: format!("{} images, val_fraction {val_fraction}", self.len()),
                allowed: "enough images for a non-empty training and validation part".into(),
            });
        }
        train.shuffle(&mut rng);
        val.shuffle(&mut rng);
        Ok((
            self.select(&train).with_name(format!("{}/train", self.name)),
            self.select(&val).with_name(format!("{}/val", self.name)),
        ))
    }

    /// A random subset of `n` images (all of them, shuffled, when `n >= len`),
    /// deterministic for a given seed.
    pub fn subset(&self, n: usize, seed: u64) -> ImageDataset {
        let order = self.shuffled_order(seed);
        self.select(&order[..n.min(order.len())])
    }

    /// The first `n` images (all when `n >= len`), in order.
    pub fn take(&self, n: usize) -> ImageDataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.select(&idx)
    }

    /// A permutation of `0..len` drawn with `seed`.
    pub fn shuffled_order(&self, seed: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        order
    }

    /// One batch holding the images at `indices` (copied once into the tensor's
    /// buffer). Panics when an index is out of range.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Batch {
        let n = self.image_len();
        let mut pixels = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
            labels.push(self.labels[i] as i64);
        }
        self.make_batch(pixels, labels, device)
    }

    /// The contiguous batch of images `start..end`.
    pub fn batch_range(&self, start: usize, end: usize, device: &Device) -> Batch {
        let n = self.image_len();
        let pixels = self.pixels[start * n..end * n].to_vec();
        let labels = self.labels[start..end].iter().map(|&l| l as i64).collect();
        self.make_batch(pixels, labels, device)
    }

    fn make_batch(&self, pixels: Vec<f32>, labels: Vec<i64>, device: &Device) -> Batch {
        let [c, h, w] = self.chw;
        let len = labels.len();
        let images = Tensor::<4>::from_data(TensorData::new(pixels, [len, c, h, w]), device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [len]), device);
        Batch { images, labels, len }
    }

    /// Batches in dataset order.
    pub fn batches<'a>(&'a self, batch_size: usize, device: &Device) -> BatchIter<'a> {
        BatchIter::new(self, None, batch_size, device)
    }

    /// Batches in an order shuffled with `seed`.
    pub fn shuffled_batches<'a>(&'a self, batch_size: usize, seed: u64, device: &Device) -> BatchIter<'a> {
        BatchIter::new(self, Some(self.shuffled_order(seed)), batch_size, device)
    }
}

/// Iterator over the batches of a dataset (the last batch may be smaller).
pub struct BatchIter<'a> {
    data: &'a ImageDataset,
    order: Option<Vec<usize>>,
    batch_size: usize,
    pos: usize,
    device: Device,
}

impl<'a> BatchIter<'a> {
    /// Batches of `data` in `order` (dataset order when `None`). A `batch_size` of 0
    /// is treated as 1.
    pub fn new(data: &'a ImageDataset, order: Option<Vec<usize>>, batch_size: usize, device: &Device) -> Self {
        BatchIter { data, order, batch_size: batch_size.max(1), pos: 0, device: device.clone() }
    }

    /// Number of batches in total.
    pub fn num_batches(&self) -> usize {
        self.total().div_ceil(self.batch_size)
    }

    fn total(&self) -> usize {
        self.order.as_ref().map_or(self.data.len(), Vec::len)
    }
}

impl Iterator for BatchIter<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let total = self.total();
        if self.pos >= total {
            return None;
        }
        let end = (self.pos + self.batch_size).min(total);
        let batch = match &self.order {
            Some(order) => self.data.batch(&order[self.pos..end], &self.device),
            None => self.data.batch_range(self.pos, end, &self.device),
        };
        self.pos = end;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.total() - self.pos).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl ExactSizeIterator for BatchIter<'_> {}

/// Training and validation splits of one dataset, normalised with the
/// training statistics.
#[derive(Clone, Debug)]
pub struct DataSplit {
    /// Training images.
    pub train: std::sync::Arc<ImageDataset>,
    /// Held-out validation images.
    pub val: std::sync::Arc<ImageDataset>,
}

impl DataSplit {
    /// Splits `data` ([`ImageDataset::split`]) and normalises both parts with the
    /// per-channel statistics of the training part.
    pub fn new(data: &ImageDataset, val_fraction: f64, seed: u64) -> Result<Self> {
        let (mut train, mut val) = data.split(val_fraction, seed)?;
        let stats = train.normalize();
        val.normalize_with(&stats);
        Ok(DataSplit { train: std::sync::Arc::new(train), val: std::sync::Arc::new(val) })
    }

    /// The input shape and class count the data imposes on a space.
    pub fn input_shape(&self) -> crate::registry::InputShape {
        crate::registry::InputShape { chw: self.train.chw(), classes: self.train.num_classes() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize, classes: usize) -> ImageDataset {
        let chw = [2, 2, 2];
        let pixels: Vec<f32> = (0..n * 8).map(|i| (i % 17) as f32 / 16.0).collect();
        let labels: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
        ImageDataset::new("toy", chw, classes, pixels, labels).expect("valid toy dataset")
    }

    #[test]
    fn new_checks_lengths_and_labels() {
        assert!(ImageDataset::new("x", [1, 2, 2], 2, vec![0.0; 7], vec![0, 1]).is_err());
        let e = ImageDataset::new("x", [1, 2, 2], 2, vec![0.0; 8], vec![0, 2]).expect_err("label out of range");
        assert!(e.to_string().contains("label of image 1"), "{e}");
        assert!(ImageDataset::new("x", [0, 2, 2], 2, vec![], vec![]).is_err());
    }

    #[test]
    fn split_is_stratified_disjoint_and_deterministic() {
        let ds = toy(100, 4);
        let (tr, va) = ds.split(0.2, 7).expect("split");
        assert_eq!(tr.len() + va.len(), 100);
        assert_eq!(va.class_counts(), vec![5, 5, 5, 5]);
        let (tr2, va2) = ds.split(0.2, 7).expect("split");
        assert_eq!(tr.labels(), tr2.labels());
        assert_eq!(va.pixels(), va2.pixels());
        let (_, va3) = ds.split(0.2, 8).expect("split");
        assert_ne!(va.pixels(), va3.pixels());
        assert!(ds.split(0.0, 1).is_err());
        assert!(ds.split(1.0, 1).is_err());
    }

    #[test]
    fn normalize_gives_zero_mean_unit_std() {
        let mut ds = toy(50, 2);
        ds.normalize();
        let s = ds.compute_channel_stats();
        for c in 0..2 {
            assert!(s.mean[c].abs() < 1e-5, "{s:?}");
            assert!((s.std[c] - 1.0).abs() < 1e-4, "{s:?}");
        }
        assert!(ds.channel_stats().is_some());
        assert!(ds.subset(10, 1).channel_stats().is_some());

        // Re-normalising with another set's statistics undoes the own ones first.
        let raw = toy(40, 2);
        let mut reference = raw.clone();
        let stats = reference.normalize();
        let mut other = raw.select(&(0..40).rev().collect::<Vec<_>>());
        other.normalize();
        other.normalize_with(&stats);
        let back = other.select(&(0..40).rev().collect::<Vec<_>>());
        for (a, b) in back.pixels().iter().zip(reference.pixels()) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        let mut twice = reference.clone();
        twice.normalize();
        for (a, b) in twice.pixels().iter().zip(reference.pixels()) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn batches_cover_the_dataset_with_the_right_shapes() {
        let ds = toy(10, 3);
        let device = Device::flex();
        let it = ds.shuffled_batches(4, 3, &device);
        assert_eq!(it.num_batches(), 3);
        let mut seen = Vec::new();
        for b in it {
            assert_eq!(b.images.dims()[1..], [2, 2, 2]);
            assert_eq!(b.images.dims()[0], b.len);
            let labels = b.labels.into_data().convert::<i64>().try_to_vec::<i64>().expect("labels");
            seen.extend(labels);
        }
        seen.sort();
        let mut expected: Vec<i64> = ds.labels().iter().map(|&l| l as i64).collect();
        expected.sort();
        assert_eq!(seen, expected);
        let first = ds.batches(4, &device).next().expect("one batch");
        let px = first.images.into_data().try_to_vec::<f32>().expect("f32");
        assert_eq!(px, ds.pixels()[..32]);
    }
}
