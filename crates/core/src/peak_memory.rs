//! The process's peak resident set size per stage, from Linux's `/proc/self/status`
//! (`VmHWM`), reset between stages through `/proc/self/clear_refs`. Elsewhere (or when the
//! kernel refuses) the numbers are `None`.

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0); false when that failed.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak RSS since the last reset (or the process start), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}
