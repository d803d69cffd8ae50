//! RocketMQ's rule for whether a CommitLog position is "in memory": the newest
//! `accessMessageInMemoryMaxRatio` percent of physical memory worth of CommitLog bytes is assumed
//! to be in the page cache, anything older on disk.

use std::sync::OnceLock;

/// Total physical memory in bytes, read once from `/proc/meminfo`; `u64::MAX` where that file
/// does not exist, so that every message counts as in memory.
pub fn total_physical_memory() -> u64 {
    static TOTAL: OnceLock<u64> = OnceLock::new();
    *TOTAL.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| parse_mem_total(&text))
            .unwrap_or(u64::MAX)
    })
}

/// The `MemTotal` line of `/proc/meminfo`, in bytes.
fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Whether the record at `phy_offset` lies within the in-memory tail ending at `max_phy_offset`.
pub fn is_in_memory(phy_offset: i64, max_phy_offset: i64, ratio_percent: u32) -> bool {
    is_in_memory_with(
        phy_offset,
        max_phy_offset,
        ratio_percent,
        total_physical_memory(),
    )
}

fn is_in_memory_with(phy_offset: i64, max_phy_offset: i64, ratio_percent: u32, total: u64) -> bool {
    let resident = (total as u128 * u128::from(ratio_percent) / 100).min(i64::MAX as u128) as i64;
    max_phy_offset.saturating_sub(phy_offset) <= resident
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mem_total() {
        let text = "MemTotal:       16314484 kB\nMemFree:         1000 kB\n";
        assert_eq!(parse_mem_total(text), Some(16_314_484 * 1024));
        assert_eq!(parse_mem_total("nothing"), None);
    }

    #[test]
    fn tail_within_the_ratio_is_in_memory() {
        let total = 1000;
        // 40 % of 1000 bytes: the newest 400 bytes are resident.
        assert!(is_in_memory_with(600, 1000, 40, total));
        assert!(!is_in_memory_with(599, 1000, 40, total));
        // Ratio 0: only a position at the very end counts as in memory.
        assert!(!is_in_memory_with(0, 100, 0, total));
        assert!(is_in_memory_with(0, 1 << 40, 40, u64::MAX));
    }
}
