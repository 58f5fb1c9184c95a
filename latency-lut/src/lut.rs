//! Measured latency lookup tables: building, the file format, loading with
//! validation, and costing networks.
//!
//! # What a table holds
//!
//! One entry per distinct [`LayerSpec`] the space can produce (the whole struct is
//! the key: op kind, channels, kernel, stride, padding, dilation, groups, bias,
//! inputs, input size and bit-widths), with the [`Timing`] of that layer on this
//! machine: median, interquartile range, 10th percentile, sample count, calls per
//! sample, warm-up calls and preempted samples. The table also records the space
//! (name and configuration), the batch size, the [`DeviceFingerprint`], the
//! [`Protocol`], how the layer set was found ([`Coverage`]) and an optional
//! [`Calibration`].
//!
//! # Prediction
//!
//! The latency of a network is `intercept + scale * (sum of its layers' medians)`;
//! without a calibration `intercept = 0`, `scale = 1`. The calibration is fitted at
//! build time on a few networks measured end to end (chosen to span the range of
//! layer sums), minimising the *relative* error. It absorbs what a sum of isolated
//! layers cannot see: the per-network overhead (building the input, zero tensors
//! of empty nodes, the head's reshape) and the cache misses of running many
//! layers in a row. A layer that is not in the table is an error that names it,
//! never a silent 0.
//!
//! # File format
//!
//! Pretty-printed JSON:
//!
//! ```text
//! {
//!   "schema_version": 1,
//!   "hwnas_version": "0.1.0",
//!   "checksum": "sha256:<64 hex digits>",
//!   "space": { "name": "nb201", "config": { ... } },
//!   "batch": 1,
//!   "created_unix": ...,
//!   "device": { "cpu_model": ..., ... },
//!   "protocol": { "threads": 1, ... },
//!   "coverage": { ... },
//!   "calibration": { "intercept_ms": ..., "scale": ..., "points": [...] },
//!   "stability": { "attempts": [ { "drift": ..., "round_speeds": [...], ... } ], "kept": 0, ... },
//!   "entries": [ { "key": "conv2d 16->16 k3 s1 p1 d1 g1 32x32", "layer": {...},
//!                  "example": "stage1.cell0.edge0.conv", "median_ms": ..., ... }, ... ]
//! }
//! ```
//!
//! The checksum is the SHA-256 of the exact file bytes with the checksum value
//! replaced by 64 zeros, so any change to the file after it was written (a
//! truncated copy, a hand edit) is detected. Loading checks, in order: JSON, the
//! schema version, the checksum, the fields, and that every entry is unique and
//! positive; [`LatencyTable::check`] then refuses a table of another space (or
//! space configuration) or batch size.

pub use crate::build::{BuildOptions, build_table};
use crate::error::{LutError, Result};
use crate::fingerprint::DeviceFingerprint;
use crate::measure::{Protocol, Timing, layer_key, round_to};
use crate::stability::Stability;
use nas_core::{CostModel, LayerSpec, Metric, MetricMap, NamedLayer, NasError, NetworkSpec, ToNetworkSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The hwnas version recorded in tables.
pub const HWNAS_VERSION: &str = env!("CARGO_PKG_VERSION");

const CHECKSUM_PREFIX: &str = "sha256:";
const CHECKSUM_PLACEHOLDER: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Which space (and which configuration of it) a table covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpaceId {
    /// Space name (`nb201`, `darts`).
    pub name: String,
    /// The space's configuration as JSON (channels, cells, input shape, classes).
    pub config: serde_json::Value,
}

impl SpaceId {
    /// A space id from a name and any serialisable configuration.
    pub fn new(name: impl Into<String>, config: &impl Serialize) -> Self {
        SpaceId { name: name.into(), config: serde_json::to_value(config).unwrap_or(serde_json::Value::Null) }
    }

    /// `name {config}` for messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.name, self.config)
    }
}

/// One table entry: a layer configuration and its timing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LutEntry {
    /// Human-readable key ([`layer_key`]).
    pub key: String,
    /// The layer configuration (the lookup key).
    pub layer: LayerSpec,
    /// Name of one layer of the space with this configuration.
    pub example: String,
    /// The measurement.
    #[serde(flatten)]
    pub timing: Timing,
}

/// One network of the calibration: its layer sum and its end-to-end time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationPoint {
    /// Architecture notation.
    pub arch: String,
    /// Sum of the network's table entries (ms).
    pub layers_ms: f64,
    /// Measured end-to-end median (ms).
    pub measured_ms: f64,
    /// Interquartile range of the end-to-end samples (ms).
    pub measured_iqr_ms: f64,
}

/// The per-network correction `predicted = intercept + scale * sum of layers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Per-network overhead in milliseconds.
    pub intercept_ms: f64,
    /// Multiplier of the layer sum.
    pub scale: f64,
    /// The networks it was fitted on.
    pub points: Vec<CalibrationPoint>,
    /// Largest relative error of the fit on its own points.
    pub max_rel_residual: f64,
}

impl Calibration {
    /// Fits `intercept + scale * layers_ms` to the measured times by least squares
    /// on the relative error (weights `1 / measured^2`). With one point, or points
    /// that cannot separate the two parameters, only the scale is fitted.
    pub fn fit(points: Vec<CalibrationPoint>) -> Option<Self> {
        let pts: Vec<&CalibrationPoint> =
            points.iter().filter(|p| p.layers_ms > 0.0 && p.measured_ms > 0.0 && p.measured_ms.is_finite()).collect();
        if pts.is_empty() {
            return None;
        }
        let (mut sw, mut sws, mut swss, mut swm, mut swsm) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for p in &pts {
            let w = 1.0 / (p.measured_ms * p.measured_ms);
            sw += w;
            sws += w * p.layers_ms;
            swss += w * p.layers_ms * p.layers_ms;
            swm += w * p.measured_ms;
            swsm += w * p.layers_ms * p.measured_ms;
        }
        let det = sw * swss - sws * sws;
        let scale_only = (0.0, swsm / swss);
        let (a, b) = if pts.len() >= 2 && det > 1e-12 * sw * swss {
            let a = (swss * swm - sws * swsm) / det;
            let b = (sw * swsm - sws * swm) / det;
            if b > 0.0 { (a, b) } else { scale_only }
        } else {
            scale_only
        };
        let max_rel_residual =
            pts.iter().map(|p| ((a + b * p.layers_ms - p.measured_ms) / p.measured_ms).abs()).fold(0.0, f64::max);
        // Rounded so that the file reads back bit for bit (see `round_to`).
        Some(Calibration {
            intercept_ms: round_to(a, 1e-6),
            scale: round_to(b, 1e-9),
            points,
            max_rel_residual: round_to(max_rel_residual, 1e-9),
        })
    }

    /// The prediction for a layer sum.
    pub fn apply(&self, layers_ms: f64) -> f64 {
        self.intercept_ms + self.scale * layers_ms
    }
}

/// How the table's layer set was found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Every architecture of the space was lowered (the set is complete).
    pub exhaustive: bool,
    /// Architectures lowered to find the set.
    pub architectures: usize,
    /// Distinct layer configurations found.
    pub distinct_layers: usize,
}

/// A latency lookup table (see the module docs).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatencyTable {
    /// The space it covers.
    pub space: SpaceId,
    /// Batch size of the measurements.
    pub batch: usize,
    /// Unix time of the build.
    pub created_unix: u64,
    /// Where it was measured.
    pub device: DeviceFingerprint,
    /// How it was measured.
    pub protocol: Protocol,
    /// How the layer set was found.
    pub coverage: Coverage,
    /// Per-network correction, when fitted.
    pub calibration: Option<Calibration>,
    /// How steady the machine was during the build (absent in tables built
    /// before it was recorded).
    #[serde(default)]
    pub stability: Option<Stability>,
    /// The entries, in a fixed order.
    pub entries: Vec<LutEntry>,
    #[serde(skip)]
    index: HashMap<LayerSpec, usize, BuildFx>,
    #[serde(skip)]
    source: Option<PathBuf>,
}

/// A fast, non-cryptographic hasher for the table index (the multiply-rotate
/// hash of rustc's `FxHasher`). A network costs one lookup per layer, and with
/// the standard SipHash the 13-field key made hashing most of the costing time.
/// Keys come from the table file and the space, not from an adversary.
#[derive(Clone, Copy, Debug, Default)]
struct BuildFx;

impl std::hash::BuildHasher for BuildFx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// The cost of one network.
#[derive(Clone, Debug, PartialEq)]
pub struct LutCost {
    /// Prediction (calibrated when the table has a calibration), ms.
    pub predicted_ms: f64,
    /// Plain sum of the entries, ms.
    pub layers_ms: f64,
    /// Entry of each layer, in the network's order, ms.
    pub per_layer_ms: Vec<f64>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    schema_version: u32,
    hwnas_version: &'a str,
    checksum: &'a str,
    #[serde(flatten)]
    table: &'a LatencyTable,
}

#[derive(Deserialize)]
struct FileIn {
    #[allow(dead_code)] // checked before deserialisation
    schema_version: u64,
    #[allow(dead_code)] // informative
    hwnas_version: String,
    #[allow(dead_code)] // checked before deserialisation
    checksum: String,
    #[serde(flatten)]
    table: LatencyTable,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl LatencyTable {
    /// A table from its parts (entries are indexed; duplicates and non-positive
    /// medians are refused).
    pub fn new(
        space: SpaceId,
        batch: usize,
        device: DeviceFingerprint,
        protocol: Protocol,
        coverage: Coverage,
        calibration: Option<Calibration>,
        entries: Vec<LutEntry>,
    ) -> Result<Self> {
        let mut t = LatencyTable {
            space,
            batch,
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            device,
            protocol,
            coverage,
            calibration,
            stability: None,
            entries,
            index: HashMap::default(),
            source: None,
        };
        t.reindex(Path::new("<memory>"))?;
        Ok(t)
    }

    fn reindex(&mut self, path: &Path) -> Result<()> {
        let bad = |reason: String| LutError::Malformed { path: path.into(), reason };
        self.index.clear();
        for (i, e) in self.entries.iter().enumerate() {
            if !(e.timing.median_ms.is_finite() && e.timing.median_ms > 0.0) {
                return Err(bad(format!("entry `{}` has a non-positive median {}", e.key, e.timing.median_ms)));
            }
            if self.index.insert(e.layer, i).is_some() {
                return Err(bad(format!("entry `{}` appears twice", e.key)));
            }
        }
        Ok(())
    }

    /// The file the table was loaded from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The entry of a layer configuration.
    pub fn lookup(&self, layer: &LayerSpec) -> Option<&LutEntry> {
        self.index.get(layer).map(|&i| &self.entries[i])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn missing(&self, l: &NamedLayer) -> LutError {
        LutError::MissingLayer {
            layer: l.name.clone(),
            key: layer_key(&l.spec),
            source_note: self.source.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default(),
        }
    }

    /// Sum of the entries of `net`'s layers (no calibration), without allocating.
    pub fn layers_ms(&self, net: &NetworkSpec) -> Result<f64> {
        let mut sum = 0.0;
        for l in &net.layers {
            match self.index.get(&l.spec) {
                Some(&i) => sum += self.entries[i].timing.median_ms,
                None => return Err(self.missing(l)),
            }
        }
        Ok(sum)
    }

    /// The prediction for a layer sum (calibrated when the table has a calibration).
    pub fn predict(&self, layers_ms: f64) -> f64 {
        self.calibration.as_ref().map_or(layers_ms, |c| c.apply(layers_ms))
    }

    /// The predicted latency of `net` in milliseconds.
    pub fn predict_ms(&self, net: &NetworkSpec) -> Result<f64> {
        Ok(self.predict(self.layers_ms(net)?))
    }

    /// The cost of `net` with its per-layer breakdown.
    pub fn cost(&self, net: &NetworkSpec) -> Result<LutCost> {
        let per_layer_ms = net
            .layers
            .iter()
            .map(|l| self.lookup(&l.spec).map(|e| e.timing.median_ms).ok_or_else(|| self.missing(l)))
            .collect::<Result<Vec<f64>>>()?;
        let layers_ms = per_layer_ms.iter().sum();
        Ok(LutCost { predicted_ms: self.predict(layers_ms), layers_ms, per_layer_ms })
    }

    /// Refuses a table of another space (name or configuration) or batch size.
    pub fn check(&self, space: &SpaceId, batch: usize) -> Result<()> {
        let path = self.source.clone().unwrap_or_else(|| PathBuf::from("<memory>"));
        if self.space != *space {
            return Err(LutError::SpaceMismatch { path, found: self.space.describe(), expected: space.describe() });
        }
        if self.batch != batch {
            return Err(LutError::BatchMismatch { path, found: self.batch, expected: batch });
        }
        Ok(())
    }

    /// Checks that every layer `space` can produce is in the table (all of them
    /// for an enumerable space, else those found by sampling as in a build).
    pub fn check_covers<S: ToNetworkSpec>(&self, space: &S, opts: &CoverageOptions) -> Result<()> {
        let set = distinct_layers(space, opts);
        if let Some(l) = set.layers.iter().find(|l| !self.index.contains_key(&l.spec)) {
            return Err(self.missing(l));
        }
        Ok(())
    }

    /// The JSON text of the file (with its checksum).
    pub fn to_json(&self) -> Result<String> {
        let out = FileOut {
            schema_version: SCHEMA_VERSION,
            hwnas_version: HWNAS_VERSION,
            checksum: CHECKSUM_PLACEHOLDER,
            table: self,
        };
        let text = serde_json::to_string_pretty(&out)
            .map_err(|e| LutError::Backend(format!("cannot serialise the table: {e}")))?;
        let sum = format!("{CHECKSUM_PREFIX}{}", sha256_hex(text.as_bytes()));
        Ok(text.replacen(CHECKSUM_PLACEHOLDER, &sum, 1) + "\n")
    }

    /// Writes the table to `path` (atomically: a temporary file, then a rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = self.to_json()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| LutError::io(dir, e))?;
        }
        nas_core::fsutil::write_atomic(path, text.as_bytes()).map_err(|e| match e {
            nas_core::NasError::Io { path, source } => LutError::io(path, source),
            other => LutError::Backend(other.to_string()),
        })
    }

    /// Reads and validates a table file (see the module docs for the checks).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| LutError::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// The text of a table file with its `checksum` rewritten to match the
    /// content, or `None` when the text has no checksum field. For tools that
    /// edit a table knowingly, and for fuzzing the reader past the checksum.
    pub fn reseal(text: &str) -> Option<String> {
        let key = "\"checksum\": \"";
        let start = text.find(key)? + key.len();
        let end = start + text[start..].find('"')?;
        let blank = format!("{}{CHECKSUM_PLACEHOLDER}{}", &text[..start], &text[end..]);
        let sum = format!("{CHECKSUM_PREFIX}{}", sha256_hex(blank.trim_end().as_bytes()));
        Some(format!("{}{sum}{}", &text[..start], &text[end..]))
    }

    /// Parses and validates the text of a table file; `path` names it in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let bad = |reason: String| LutError::Malformed { path: path.into(), reason };
        let value: serde_json::Value =
            serde_json::from_str(text.trim_end()).map_err(|e| bad(format!("not JSON ({e})")))?;
        let obj = value.as_object().ok_or_else(|| bad("expected a JSON object".into()))?;
        let version = obj
            .get("schema_version")
            .ok_or_else(|| bad("no `schema_version` field".into()))?
            .as_u64()
            .ok_or_else(|| bad("`schema_version` is not an integer".into()))?;
        if version != u64::from(SCHEMA_VERSION) {
            return Err(LutError::SchemaVersion {
                path: path.into(),
                found: version,
                expected: SCHEMA_VERSION,
                hwnas: HWNAS_VERSION,
            });
        }
        let stored =
            obj.get("checksum").and_then(|c| c.as_str()).ok_or_else(|| bad("no `checksum` field".into()))?.to_string();
        let quoted = format!("\"checksum\": \"{stored}\"");
        if !stored.starts_with(CHECKSUM_PREFIX) || !text.contains(&quoted) {
            return Err(bad(format!("`checksum` must be written as {quoted:?} by `hwnas lut build`")));
        }
        let blank = text.trim_end().replacen(&quoted, &format!("\"checksum\": \"{CHECKSUM_PLACEHOLDER}\""), 1);
        let computed = format!("{CHECKSUM_PREFIX}{}", sha256_hex(blank.as_bytes()));
        if computed != stored {
            return Err(LutError::Checksum { path: path.into(), stored, computed });
        }
        let file: FileIn = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        let mut table = file.table;
        table.reindex(path)?;
        table.source = Some(path.to_path_buf());
        Ok(table)
    }
}

/// The table as a [`CostModel`] (`latency_ms`).
#[derive(Clone, Debug)]
pub struct LutLatency {
    table: Arc<LatencyTable>,
}

impl LutLatency {
    /// Prices networks with `table`.
    pub fn new(table: Arc<LatencyTable>) -> Self {
        LutLatency { table }
    }

    /// The table.
    pub fn table(&self) -> &LatencyTable {
        &self.table
    }
}

impl CostModel for LutLatency {
    fn name(&self) -> String {
        match self.table.source() {
            Some(p) => format!("lut({})", p.display()),
            None => "lut".into(),
        }
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::LatencyMs]
    }

    fn cost(&self, net: &NetworkSpec) -> Result<MetricMap, NasError> {
        Ok(MetricMap::from([(Metric::LatencyMs, self.table.predict_ms(net)?)]))
    }
}

/// How the layer set of a space is found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoverageOptions {
    /// For spaces too large to enumerate: stop after this many sampled
    /// architectures in a row bring no new layer (default 3000).
    pub patience: usize,
    /// ... or after this many architectures (default 100,000).
    pub max_architectures: usize,
    /// Seed of the sampling.
    pub seed: u64,
}

impl Default for CoverageOptions {
    fn default() -> Self {
        CoverageOptions { patience: 3000, max_architectures: 100_000, seed: 0 }
    }
}

/// The distinct layers of a space.
#[derive(Clone, Debug)]
pub struct LayerSet {
    /// One named example per distinct configuration, in order of first appearance.
    pub layers: Vec<NamedLayer>,
    /// Whether every architecture was lowered.
    pub exhaustive: bool,
    /// Architectures lowered.
    pub architectures: usize,
}

/// Every distinct layer configuration of `space`: all architectures when the space
/// enumerates them (NB201: 15,625), else architectures sampled until
/// `opts.patience` in a row bring nothing new (DARTS: the layer set depends only
/// on which op sits at which cell position and stride, so it saturates quickly).
pub fn distinct_layers<S: ToNetworkSpec>(space: &S, opts: &CoverageOptions) -> LayerSet {
    let mut seen = HashSet::new();
    let mut layers = Vec::new();
    let mut add = |net: NetworkSpec| {
        let mut new = false;
        for l in net.layers {
            if seen.insert(l.spec) {
                layers.push(l);
                new = true;
            }
        }
        new
    };
    if let Some(all) = space.enumerate() {
        let mut n = 0;
        for arch in all {
            add(space.network_spec(&arch));
            n += 1;
        }
        return LayerSet { layers, exhaustive: true, architectures: n };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let (mut n, mut quiet) = (0, 0);
    while n < opts.max_architectures && quiet < opts.patience {
        let arch = space.sample(&mut rng);
        n += 1;
        quiet = if add(space.network_spec(&arch)) { 0 } else { quiet + 1 };
    }
    LayerSet { layers, exhaustive: false, architectures: n }
}
