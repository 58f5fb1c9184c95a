//! The process's peak resident memory (Linux `/proc`), to compare the memory
//! of the methods on the same supernet.

/// Resets the kernel's peak-RSS mark of this process (`VmHWM`), so that
/// [`peak_rss_mb`] measures from now on. Does nothing where unsupported.
pub fn reset_peak_rss() {
    // "5" resets the peak resident set size (Linux >= 4.0, proc(5)).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process in MiB (`VmHWM`), where known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let mb = super::peak_rss_mb().expect("VmHWM");
            assert!(mb > 1.0, "{mb}");
        }
    }
}
