//! Dataset loaders: MNIST idx files, CIFAR-10 binary batches, image folders and the
//! two data sets the product ships (`mnist10k`, `digits`).
//!
//! Every loader scales pixels to `0..=1` and then standardises each channel with the
//! loaded data's own statistics ([`ImageDataset::normalize`]). To normalise a test set
//! with the statistics of its training set, call
//! `test.normalize_with(train.channel_stats().expect(..))`, which first undoes the
//! test set's own normalisation.
//!
//! Errors name the file and what is wrong: a file that cannot be read is a
//! [`NasError::Io`], malformed content a [`NasError::Format`] (with line 0 for binary
//! files). Files may be gzip-compressed; compression is detected from the content.

use super::data::ImageDataset;
use crate::error::{NasError, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Names accepted by [`load_builtin`].
pub const BUILTIN_DATASETS: [&str; 2] = ["mnist10k", "digits"];

/// The CIFAR-10 class names, in label order.
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

fn format_err(path: &Path, line: usize, reason: impl Into<String>) -> NasError {
    NasError::Format { path: path.to_path_buf(), line, reason: reason.into() }
}

/// Reads a whole file, transparently gunzipping it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| NasError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format_err(path, 0, format!("corrupt or truncated gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Returns the first existing path among `candidates`, or an I/O "not found" error
/// naming the first one.
fn first_existing(candidates: &[PathBuf]) -> Result<PathBuf> {
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        NasError::io(
            candidates[0].clone(),
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("file not found (tried {})", tried.join(", "))),
        )
    })
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn scaled(bytes: &[u8], max: f32) -> Vec<f32> {
    let inv = 1.0 / max;
    bytes.iter().map(|&b| b as f32 * inv).collect()
}

fn finish(mut ds: ImageDataset) -> ImageDataset {
    ds.normalize();
    ds
}

/// Loads an MNIST-style pair of idx files (`*-images-idx3-ubyte` with magic 2051 and
/// `*-labels-idx1-ubyte` with magic 2049), either raw or gzip-compressed. Labels
/// must be below 10.
pub fn load_mnist_idx(images: &Path, labels: &Path) -> Result<ImageDataset> {
    let img = read_maybe_gz(images)?;
    if img.len() < 16 {
        return Err(format_err(images, 0, format!("{} bytes: too short for an idx3 header (16 bytes)", img.len())));
    }
    let magic = be_u32(&img, 0);
    if magic != 2051 {
        return Err(format_err(
            images,
            0,
            format!("bad magic number {magic:#010x}: expected 0x00000803 (idx3 ubyte images)"),
        ));
    }
    let (n, rows, cols) = (be_u32(&img, 4) as usize, be_u32(&img, 8) as usize, be_u32(&img, 12) as usize);
    let want = 16 + n * rows * cols;
    if img.len() != want || rows == 0 || cols == 0 {
        return Err(format_err(
            images,
            0,
            format!(
                "{} bytes but the header announces {n} images of {rows}x{cols} ({want} bytes); truncated?",
                img.len()
            ),
        ));
    }
    let lab = read_maybe_gz(labels)?;
    if lab.len() < 8 {
        return Err(format_err(labels, 0, format!("{} bytes: too short for an idx1 header (8 bytes)", lab.len())));
    }
    let magic = be_u32(&lab, 0);
    if magic != 2049 {
        return Err(format_err(
            labels,
            0,
            format!("bad magic number {magic:#010x}: expected 0x00000801 (idx1 ubyte labels)"),
        ));
    }
    let n_lab = be_u32(&lab, 4) as usize;
    if lab.len() != 8 + n_lab {
        return Err(format_err(
            labels,
            0,
            format!("{} bytes but the header announces {n_lab} labels ({} bytes); truncated?", lab.len(), 8 + n_lab),
        ));
    }
    if n_lab != n {
        return Err(format_err(labels, 0, format!("{n_lab} labels for {n} images in {}", images.display())));
    }
    let labels_u32 = byte_labels(&lab[8..], 10, labels)?;
    let name = images.file_name().map_or_else(|| "mnist".to_string(), |f| f.to_string_lossy().into_owned());
    let ds = ImageDataset::new(name, [1, rows, cols], 10, scaled(&img[16..], 255.0), labels_u32)?;
    Ok(finish(ds))
}

fn byte_labels(bytes: &[u8], classes: u32, path: &Path) -> Result<Vec<u32>> {
    bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (b as u32) < classes {
                Ok(b as u32)
            } else {
                Err(format_err(path, 0, format!("label {b} of item {i} is out of range 0..{classes}")))
            }
        })
        .collect()
}

/// Loads the MNIST training (`train = true`: `train-*`) or test (`t10k-*`) split
/// from a directory holding the official idx files, raw or `.gz`
/// (`train-images-idx3-ubyte[.gz]` or `train-images.idx3-ubyte[.gz]`, and the same
/// for labels).
pub fn load_mnist(dir: &Path, train: bool) -> Result<ImageDataset> {
    let prefix = if train { "train" } else { "t10k" };
    let candidates = |kind: &str, idx: &str| -> Vec<PathBuf> {
        let mut v = Vec::new();
        for sep in ['-', '.'] {
            for ext in ["", ".gz"] {
                v.push(dir.join(format!("{prefix}-{kind}{sep}{idx}-ubyte{ext}")));
            }
        }
        v
    };
    let images = first_existing(&candidates("images", "idx3"))?;
    let labels = first_existing(&candidates("labels", "idx1"))?;
    Ok(load_mnist_idx(&images, &labels)?.with_name(format!("mnist/{prefix}")))
}

const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

/// Loads CIFAR-10 binary batch files (records of 1 label byte + 3072 pixel bytes,
/// red, green and blue planes of 32x32), concatenated in the order given.
pub fn load_cifar10_files<P: AsRef<Path>>(paths: &[P]) -> Result<ImageDataset> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for p in paths {
        let path = p.as_ref();
        let bytes = read_maybe_gz(path)?;
        if bytes.is_empty() || bytes.len() % CIFAR_RECORD != 0 {
            return Err(format_err(
                path,
                0,
                format!(
                    "{} bytes is not a positive multiple of the {CIFAR_RECORD}-byte record (1 label + 3072 pixels); truncated?",
                    bytes.len()
                ),
            ));
        }
        pixels.reserve(bytes.len());
        for (i, rec) in bytes.chunks_exact(CIFAR_RECORD).enumerate() {
            if rec[0] >= 10 {
                return Err(format_err(path, 0, format!("label {} of record {i} is out of range 0..10", rec[0])));
            }
            labels.push(rec[0] as u32);
            pixels.extend(rec[1..].iter().map(|&b| b as f32 / 255.0));
        }
    }
    let ds = ImageDataset::new("cifar10", [3, 32, 32], 10, pixels, labels)?
        .with_class_names(CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect())?;
    Ok(finish(ds))
}

/// Loads the CIFAR-10 training batches (`data_batch_1.bin` .. `data_batch_5.bin`,
/// whichever exist, at least one) or the test batch (`test_batch.bin`) from `dir`
/// or from its `cifar-10-batches-bin` subdirectory.
pub fn load_cifar10(dir: &Path, train: bool) -> Result<ImageDataset> {
    let dir =
        if dir.join("cifar-10-batches-bin").is_dir() { dir.join("cifar-10-batches-bin") } else { dir.to_path_buf() };
    let files: Vec<PathBuf> = if train {
        let found: Vec<PathBuf> =
            (1..=5).map(|i| dir.join(format!("data_batch_{i}.bin"))).filter(|p| p.is_file()).collect();
        if found.is_empty() {
            return Err(NasError::io(
                dir.join("data_batch_1.bin"),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no CIFAR-10 training batch (data_batch_N.bin) found",
                ),
            ));
        }
        found
    } else {
        vec![first_existing(&[dir.join("test_batch.bin")])?]
    };
    Ok(load_cifar10_files(&files)?.with_name(if train { "cifar10/train" } else { "cifar10/test" }))
}

/// How [`load_image_folder`] shapes images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageFolderOptions {
    /// Resize every image to `[width, height]` (bilinear). When `None`, every image
    /// must have the size of the first one, and a different size is an error naming
    /// the file.
    pub resize: Option<[u32; 2]>,
    /// Convert to one grey channel instead of three RGB channels.
    pub grayscale: bool,
}

fn is_image_file(p: &Path) -> bool {
    p.is_file()
        && p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| NasError::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| NasError::io(dir, e)))
        .collect::<Result<_>>()?;
    v.sort();
    Ok(v)
}

/// Loads `root/<class>/*.png|*.jpg|*.jpeg`: one class per subdirectory, classes
/// numbered in sorted name order, files read in sorted order.
pub fn load_image_folder(root: &Path, options: ImageFolderOptions) -> Result<ImageDataset> {
    let classes: Vec<PathBuf> = sorted_entries(root)?.into_iter().filter(|p| p.is_dir()).collect();
    if classes.is_empty() {
        return Err(format_err(root, 0, "no class subdirectories (expected root/<class>/*.png|*.jpg)"));
    }
    let channels = if options.grayscale { 1 } else { 3 };
    let mut size: Option<([u32; 2], PathBuf)> = options.resize.map(|s| (s, PathBuf::new()));
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut names = Vec::new();
    for (label, class_dir) in classes.iter().enumerate() {
        names.push(class_dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()));
        for file in sorted_entries(class_dir)?.into_iter().filter(|p| is_image_file(p)) {
            let img = image::open(&file).map_err(|e| match e {
                image::ImageError::IoError(io) => NasError::io(&file, io),
                other => format_err(&file, 0, format!("cannot decode image: {other}")),
            })?;
            let img = match &size {
                None => {
                    size = Some(([img.width(), img.height()], file.clone()));
                    img
                }
                Some(([w, h], first)) => {
                    if options.resize.is_some() {
                        if img.width() != *w || img.height() != *h {
                            img.resize_exact(*w, *h, image::imageops::FilterType::Triangle)
                        } else {
                            img
                        }
                    } else if img.width() != *w || img.height() != *h {
                        return Err(format_err(
                            &file,
                            0,
                            format!(
                                "image is {}x{} but {} is {w}x{h}; all images must have one size (or set a resize target)",
                                img.width(),
                                img.height(),
                                first.display()
                            ),
                        ));
                    } else {
                        img
                    }
                }
            };
            let plane = (img.width() * img.height()) as usize;
            if options.grayscale {
                pixels.extend(img.to_luma8().as_raw().iter().map(|&b| b as f32 / 255.0));
            } else {
                let rgb = img.to_rgb8();
                let raw = rgb.as_raw();
                let start = pixels.len();
                pixels.resize(start + 3 * plane, 0.0);
                let out = &mut pixels[start..];
                for (i, px) in raw.chunks_exact(3).enumerate() {
                    for c in 0..3 {
                        out[c * plane + i] = px[c] as f32 / 255.0;
                    }
                }
            }
            labels.push(label as u32);
        }
    }
    let Some(([w, h], _)) = size else {
        return Err(format_err(root, 0, "no .png/.jpg/.jpeg images in any class directory"));
    };
    if labels.is_empty() {
        return Err(format_err(root, 0, "no .png/.jpg/.jpeg images in any class directory"));
    }
    let name = root.file_name().map_or_else(|| "images".to_string(), |n| n.to_string_lossy().into_owned());
    let ds = ImageDataset::new(name, [channels, h as usize, w as usize], classes.len(), pixels, labels)?
        .with_class_names(names)?;
    Ok(finish(ds))
}

/// Loads the shipped 10,000-image MNIST subset: `<data_dir>/mnist-10k/images_u8.bin.gz`
/// (gzip of 10,000 x 784 bytes) and `<data_dir>/mnist-10k/labels_u8.bin`. The
/// images are stored grouped by class: shuffle (e.g. [`ImageDataset::split`])
/// before use.
pub fn load_mnist10k(data_dir: &Path) -> Result<ImageDataset> {
    let dir = data_dir.join("mnist-10k");
    let images = dir.join("images_u8.bin.gz");
    let labels_path = dir.join("labels_u8.bin");
    let labels_raw = read_maybe_gz(&labels_path)?;
    let img = read_maybe_gz(&images)?;
    let n = labels_raw.len();
    if n == 0 || img.len() != n * 784 {
        return Err(format_err(
            &images,
            0,
            format!(
                "{} bytes but {} holds {n} labels: expected {} bytes (784 per image)",
                img.len(),
                labels_path.display(),
                n * 784
            ),
        ));
    }
    let labels = byte_labels(&labels_raw, 10, &labels_path)?;
    Ok(finish(ImageDataset::new("mnist10k", [1, 28, 28], 10, scaled(&img, 255.0), labels)?))
}

/// Loads the shipped 8x8 digits: `<data_dir>/digits/digits.csv.gz`, one image per
/// line, 64 pixel values in `0..=16` then the label, no header.
pub fn load_digits(data_dir: &Path) -> Result<ImageDataset> {
    let path = data_dir.join("digits").join("digits.csv.gz");
    let bytes = read_maybe_gz(&path)?;
    let text = String::from_utf8(bytes).map_err(|e| format_err(&path, 0, format!("not UTF-8 text: {e}")))?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 65 {
            return Err(format_err(
                &path,
                line_no,
                format!("{} fields, expected 65 (64 pixels then the label)", fields.len()),
            ));
        }
        for (j, f) in fields[..64].iter().enumerate() {
            let v: f32 =
                f.parse().map_err(|_| format_err(&path, line_no, format!("pixel {j} `{f}` is not a number")))?;
            if !(0.0..=16.0).contains(&v) {
                return Err(format_err(&path, line_no, format!("pixel {j} = {v} is outside 0..=16")));
            }
            pixels.push(v / 16.0);
        }
        let label: f64 = fields[64]
            .parse()
            .map_err(|_| format_err(&path, line_no, format!("label `{}` is not a number", fields[64])))?;
        if label.fract() != 0.0 || !(0.0..10.0).contains(&label) {
            return Err(format_err(&path, line_no, format!("label {label} is not a digit 0..=9")));
        }
        labels.push(label as u32);
    }
    if labels.is_empty() {
        return Err(format_err(&path, 0, "no data rows"));
    }
    Ok(finish(ImageDataset::new("digits", [1, 8, 8], 10, pixels, labels)?))
}

/// Loads a shipped dataset by name (`mnist10k` or `digits`, see
/// [`BUILTIN_DATASETS`]) from the product's data directory (the one holding
/// `mnist-10k/` and `digits/`).
pub fn load_builtin(name: &str, data_dir: &Path) -> Result<ImageDataset> {
    match name.trim() {
        "mnist10k" | "mnist-10k" => load_mnist10k(data_dir),
        "digits" => load_digits(data_dir),
        other => Err(NasError::UnknownName {
            what: "dataset",
            value: other.to_string(),
            allowed: BUILTIN_DATASETS.join(", "),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn tmp() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("hwnas-loaders-").tempdir().expect("temp dir")
    }

    /// The shipped data directory: `data/` of the workspace, else the shared copy.
    pub(crate) fn data_dir() -> PathBuf {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let main = here.join("../data");
        if main.join("digits/digits.csv.gz").is_file() { main } else { here.join("../../shared/data") }
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).expect("gzip");
        e.finish().expect("gzip")
    }

    fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [2051, n, rows, cols] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend((0..n * rows * cols).map(|i| (i % 256) as u8));
        v
    }

    fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&2049u32.to_be_bytes());
        v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        v.extend_from_slice(labels);
        v
    }

    #[test]
    fn mnist_idx_raw_and_gz_round_trip() {
        let d = tmp();
        std::fs::write(d.path().join("train-images-idx3-ubyte"), idx_images(3, 4, 5)).expect("write");
        std::fs::write(d.path().join("train-labels-idx1-ubyte.gz"), gz(&idx_labels(&[1, 7, 9]))).expect("write");
        let ds = load_mnist(d.path(), true).expect("load");
        assert_eq!(ds.len(), 3);
        assert_eq!(ds.chw(), [1, 4, 5]);
        assert_eq!(ds.labels(), &[1, 7, 9]);
        assert!(ds.channel_stats().is_some());
        // Missing test split names the file it looked for.
        let e = load_mnist(d.path(), false).expect_err("no t10k files");
        assert!(matches!(e, NasError::Io { .. }));
        assert!(e.to_string().contains("t10k-images-idx3-ubyte"), "{e}");
    }

    #[test]
    fn mnist_idx_errors_name_the_file() {
        let d = tmp();
        let (img, lab) = (d.path().join("img"), d.path().join("lab"));
        let mut bad = idx_images(2, 2, 2);
        bad[3] = 0x99;
        std::fs::write(&img, &bad).expect("write");
        std::fs::write(&lab, idx_labels(&[0, 1])).expect("write");
        let e = load_mnist_idx(&img, &lab).expect_err("bad magic");
        assert!(matches!(&e, NasError::Format { path, .. } if path == &img), "{e}");
        assert!(e.to_string().contains("magic"), "{e}");

        let mut truncated = idx_images(2, 2, 2);
        truncated.pop();
        std::fs::write(&img, &truncated).expect("write");
        let e = load_mnist_idx(&img, &lab).expect_err("truncated");
        assert!(e.to_string().contains("truncated"), "{e}");

        std::fs::write(&img, idx_images(2, 2, 2)).expect("write");
        std::fs::write(&lab, idx_labels(&[0, 10])).expect("write");
        let e = load_mnist_idx(&img, &lab).expect_err("label 10");
        assert!(matches!(&e, NasError::Format { path, .. } if path == &lab), "{e}");

        std::fs::write(&lab, &gz(&idx_labels(&[0, 1]))[..20]).expect("write");
        let e = load_mnist_idx(&img, &lab).expect_err("truncated gzip");
        assert!(matches!(&e, NasError::Format { path, .. } if path == &lab), "{e}");

        let missing = d.path().join("nope");
        let e = load_mnist_idx(&missing, &lab).expect_err("missing");
        assert!(matches!(&e, NasError::Io { path, .. } if path == &missing), "{e}");
    }

    fn cifar_records(labels: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for (i, &l) in labels.iter().enumerate() {
            v.push(l);
            v.extend((0..3072).map(|j| ((i * 31 + j) % 256) as u8));
        }
        v
    }

    #[test]
    fn cifar10_batches_load_and_errors() {
        let d = tmp();
        std::fs::write(d.path().join("data_batch_1.bin"), cifar_records(&[3, 5])).expect("write");
        std::fs::write(d.path().join("data_batch_2.bin"), cifar_records(&[9])).expect("write");
        let ds = load_cifar10(d.path(), true).expect("load");
        assert_eq!(ds.len(), 3);
        assert_eq!(ds.chw(), [3, 32, 32]);
        assert_eq!(ds.labels(), &[3, 5, 9]);
        assert_eq!(ds.class_names()[3], "cat");

        let e = load_cifar10(d.path(), false).expect_err("no test batch");
        assert!(e.to_string().contains("test_batch.bin"), "{e}");

        let mut short = cifar_records(&[1, 2]);
        short.truncate(4000);
        let bad = d.path().join("short.bin");
        std::fs::write(&bad, short).expect("write");
        let e = load_cifar10_files(&[&bad]).expect_err("truncated");
        assert!(matches!(&e, NasError::Format { path, .. } if path == &bad), "{e}");

        std::fs::write(&bad, cifar_records(&[12])).expect("write");
        let e = load_cifar10_files(&[&bad]).expect_err("bad label");
        assert!(e.to_string().contains("label 12"), "{e}");
    }

    #[test]
    fn image_folder_loads_sorted_classes_and_checks_sizes() {
        let d = tmp();
        let root = d.path().join("imgs");
        for (class, n) in [("zebra", 2), ("ant", 3)] {
            std::fs::create_dir_all(root.join(class)).expect("mkdir");
            for i in 0..n {
                let img =
                    image::RgbImage::from_fn(6, 4, |x, y| image::Rgb([(x * 40) as u8, (y * 60) as u8, (i * 50) as u8]));
                img.save(root.join(class).join(format!("{i}.png"))).expect("save png");
            }
        }
        std::fs::write(root.join("ant").join("notes.txt"), "ignored").expect("write");
        let ds = load_image_folder(&root, ImageFolderOptions::default()).expect("load");
        assert_eq!(ds.len(), 5);
        assert_eq!(ds.chw(), [3, 4, 6]);
        assert_eq!(ds.class_names(), &["ant".to_string(), "zebra".to_string()]);
        assert_eq!(ds.class_counts(), vec![3, 2]);

        let odd = root.join("zebra").join("odd.png");
        image::GrayImage::from_fn(5, 5, |_, _| image::Luma([7])).save(&odd).expect("save png");
        let e = load_image_folder(&root, ImageFolderOptions::default()).expect_err("size mismatch");
        assert!(matches!(&e, NasError::Format { path, .. } if path == &odd), "{e}");

        let ds =
            load_image_folder(&root, ImageFolderOptions { resize: Some([8, 8]), grayscale: true }).expect("resize");
        assert_eq!(ds.chw(), [1, 8, 8]);
        assert_eq!(ds.len(), 6);

        std::fs::write(root.join("ant").join("broken.png"), b"not a png").expect("write");
        let e = load_image_folder(&root, ImageFolderOptions { resize: Some([8, 8]), grayscale: false })
            .expect_err("undecodable");
        assert!(e.to_string().contains("broken.png"), "{e}");

        let e = load_image_folder(&d.path().join("missing"), ImageFolderOptions::default()).expect_err("missing");
        assert!(matches!(e, NasError::Io { .. }));
    }

    #[test]
    fn builtin_datasets_load() {
        let dir = data_dir();
        let digits = load_builtin("digits", &dir).expect("digits");
        assert_eq!(digits.len(), 1797);
        assert_eq!(digits.chw(), [1, 8, 8]);
        assert!(digits.class_counts().iter().all(|&c| c > 150));
        let mnist = load_builtin("mnist10k", &dir).expect("mnist10k");
        assert_eq!(mnist.len(), 10_000);
        assert_eq!(mnist.chw(), [1, 28, 28]);
        assert!(mnist.class_counts().iter().all(|&c| c > 800));
        let e = load_builtin("imagenet", &dir).expect_err("unknown");
        assert!(e.to_string().contains("mnist10k, digits"), "{e}");
        let e = load_builtin("digits", Path::new("/nonexistent-hwnas")).expect_err("missing dir");
        assert!(e.to_string().contains("digits.csv.gz"), "{e}");
    }

    #[test]
    fn digits_csv_errors_carry_line_numbers() {
        let d = tmp();
        std::fs::create_dir_all(d.path().join("digits")).expect("mkdir");
        let good = vec!["1"; 64].join(",") + ",3";
        let bad = vec!["1"; 63].join(",") + ",3";
        std::fs::write(d.path().join("digits/digits.csv.gz"), gz(format!("{good}\n{bad}\n").as_bytes()))
            .expect("write");
        let e = load_digits(d.path()).expect_err("short row");
        assert!(matches!(e, NasError::Format { line: 2, .. }), "{e}");
    }
}
