//! The fingerprint of the machine a table was measured on.
//!
//! Latency tables are only valid on the machine (and software stack) that measured
//! them, so every table records where it came from: CPU model, cores and threads,
//! the frequency governor where the kernel exposes it, SIMD extensions the kernels
//! may use, the burn backend and version, and the timing settings (batch, threads).
//! [`DeviceFingerprint::differences`] lists what differs from another fingerprint,
//! so that using a table elsewhere is reported instead of silently wrong.

use crate::measure::{BURN_VERSION, Protocol};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where and how a table was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceFingerprint {
    /// CPU model name (`/proc/cpuinfo` `model name`, or `unknown`).
    pub cpu_model: String,
    /// Physical cores (distinct `physical id` / `core id` pairs; logical CPUs when unknown).
    pub cores: usize,
    /// Logical CPUs (hardware threads).
    pub threads: usize,
    /// CPU frequency governor of cpu0 (`None` where not readable, e.g. in most VMs).
    pub governor: Option<String>,
    /// Maximum frequency of cpu0 in MHz where readable, else the `cpu MHz` of `/proc/cpuinfo`.
    pub mhz: Option<f64>,
    /// Whether the CPU reports running under a hypervisor.
    pub virtualized: bool,
    /// SIMD extensions that burn's kernels may use (`avx2`, `fma`, `avx512f`, `neon`, ...).
    pub simd: Vec<String>,
    /// Operating system and architecture, e.g. `linux x86_64`.
    pub os: String,
    /// Kernel release where readable.
    pub kernel: Option<String>,
    /// burn backend (`flex`).
    pub backend: String,
    /// burn version.
    pub burn_version: String,
    /// Batch size of the timed inputs.
    pub batch: usize,
    /// Threads the timing ran on.
    pub measure_threads: usize,
    /// Global allocator of the measuring program.
    pub allocator: String,
}

/// The SIMD flags worth recording (they change which kernels run).
const SIMD_FLAGS: [&str; 9] =
    ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx_vnni", "neon"];

impl DeviceFingerprint {
    /// The fingerprint of this machine for a given timing protocol.
    pub fn current(protocol: &Protocol) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
        };
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let mut cores = BTreeSet::new();
        let mut phys = String::new();
        for line in cpuinfo.lines() {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim() {
                    "physical id" => phys = v.trim().to_string(),
                    "core id" => {
                        cores.insert((phys.clone(), v.trim().to_string()));
                    }
                    _ => {}
                }
            }
        }
        let flags: BTreeSet<String> = field("flags")
            .or_else(|| field("Features"))
            .unwrap_or_default()
            .split_whitespace()
            .map(|s| s.to_string())
            .collect();
        let simd = SIMD_FLAGS.iter().filter(|f| flags.contains(**f)).map(|s| s.to_string()).collect();
        let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let max_khz = read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").and_then(|s| s.parse::<f64>().ok());
        DeviceFingerprint {
            cpu_model: field("model name").or_else(|| field("Hardware")).unwrap_or_else(|| "unknown".into()),
            cores: if cores.is_empty() { threads } else { cores.len() },
            threads,
            governor: read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            mhz: max_khz.map(|k| k / 1e3).or_else(|| field("cpu MHz").and_then(|s| s.parse().ok())),
            virtualized: flags.contains("hypervisor"),
            simd,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            kernel: read("/proc/sys/kernel/osrelease"),
            backend: protocol.backend.name().into(),
            burn_version: BURN_VERSION.into(),
            batch: protocol.batch,
            measure_threads: protocol.threads,
            allocator: protocol.allocator.clone(),
        }
    }

    /// What differs from `other` that can change latencies (CPU, cores, SIMD,
    /// backend, burn version, threads, batch), as readable lines. The clock and
    /// the kernel are not compared: they vary between boots of the same machine.
    pub fn differences(&self, other: &DeviceFingerprint) -> Vec<String> {
        let mut out = Vec::new();
        let mut cmp = |what: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{what}: {a} (table) vs {b} (here)"));
            }
        };
        cmp("CPU", self.cpu_model.clone(), other.cpu_model.clone());
        cmp("cores", self.cores.to_string(), other.cores.to_string());
        cmp("SIMD", self.simd.join(","), other.simd.join(","));
        cmp("backend", self.backend.clone(), other.backend.clone());
        cmp("burn", self.burn_version.clone(), other.burn_version.clone());
        cmp("measurement threads", self.measure_threads.to_string(), other.measure_threads.to_string());
        cmp("batch", self.batch.to_string(), other.batch.to_string());
        cmp("allocator", self.allocator.clone(), other.allocator.clone());
        out
    }

    /// One line for reports, e.g. `AMD EPYC, 2 cores / 2 threads, flex (burn 0.22.1), batch 1, 1 thread`.
    pub fn summary(&self) -> String {
        format!(
            "{}, {} cores / {} threads{}, {} (burn {}), batch {}, {} measurement thread{}",
            self.cpu_model,
            self.cores,
            self.threads,
            self.governor.as_ref().map(|g| format!(", governor {g}")).unwrap_or_default(),
            self.backend,
            self.burn_version,
            self.batch,
            self.measure_threads,
            if self.measure_threads == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_machine_is_described_and_equal_to_itself() {
        let p = Protocol::default();
        let f = DeviceFingerprint::current(&p);
        assert!(f.threads >= 1 && f.cores >= 1 && f.cores <= f.threads);
        assert_eq!(f.backend, "flex");
        assert_eq!((f.batch, f.measure_threads), (1, 1));
        assert!(f.differences(&f).is_empty());
        let other = DeviceFingerprint { cpu_model: "Other CPU".into(), batch: 8, ..f.clone() };
        let d = f.differences(&other);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("Other CPU"));
        assert!(f.summary().contains("burn 0.22.1"));
    }

    /// The recorded burn version must be the one the workspace pins.
    #[test]
    fn burn_version_matches_the_workspace_pin() {
        let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).expect("read");
        let line = manifest.lines().find(|l| l.starts_with("burn =")).expect("burn pinned in the workspace");
        assert!(line.contains(&format!("\"={BURN_VERSION}\"")), "{line}");
    }
}
