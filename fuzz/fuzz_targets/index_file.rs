//! An index file holding arbitrary bytes, opened and queried as the store does: opening either
//! refuses the file or yields one whose every lookup stays inside it and ends, and the file takes
//! new keys until it is full. Nothing panics and nothing loops.
#![no_main]

use ferrocket_store::IndexFile;
use libfuzzer_sys::fuzz_target;

/// Small capacities, so inputs cover the header, the slots and every entry.
const SLOTS: i32 = 8;
const ENTRIES: i32 = 16;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let size = IndexFile::file_size(SLOTS, ENTRIES);
    let mut bytes = vec![0u8; size];
    let n = rest.len().min(size);
    bytes[..n].copy_from_slice(&rest[..n]);
    let dir = tempfile::tempdir_in(scratch()).unwrap();
    let path = dir.path().join("20261122000000000");
    std::fs::write(&path, &bytes).unwrap();

    let Ok(file) = IndexFile::open(&path, SLOTS, ENTRIES) else {
        return;
    };
    let h = file.header();
    assert!(h.index_count >= 1 && h.index_count <= ENTRIES);
    let all = file.entries_phy_offsets();
    assert_eq!(all.len(), (h.index_count - 1) as usize);

    let keys = ["T#a", "T#b", "T#order-7", "T#7F0000011F2A"];
    for key in keys {
        let mut out = Vec::new();
        file.select_phy_offset(&mut out, key, 64, i64::MIN, i64::MAX);
        // a lookup follows each entry at most once
        assert!(
            out.len() < ENTRIES as usize,
            "{} offsets for {key}",
            out.len()
        );
    }

    // the file takes keys until it is full, and each new key is found again
    let mut added = 0;
    while file
        .put_key(
            keys[(flags as usize + added) % keys.len()],
            4096 + added as i64,
            1,
        )
        .expect("the scratch filesystem has room")
    {
        added += 1;
        assert!(added <= ENTRIES as usize);
    }
    assert!(file.is_write_full());
    if added > 0 {
        let last = keys[(flags as usize + added - 1) % keys.len()];
        let mut out = Vec::new();
        file.select_phy_offset(&mut out, last, 64, i64::MIN, i64::MAX);
        assert!(
            out.contains(&(4096 + added as i64 - 1)),
            "{last} not found: {out:?}"
        );
    }
});

/// Memory-backed scratch space when the system has it.
fn scratch() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}
