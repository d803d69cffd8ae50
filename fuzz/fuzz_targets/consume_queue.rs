//! A ConsumeQueue directory holding arbitrary bytes, recovered and read as the store does at
//! startup: recovery keeps only valid entries, every entry it keeps is readable, and the queue
//! takes new entries afterwards. Nothing panics.
#![no_main]

use ferrocket_store::{offset_to_file_name, ConsumeQueue, CQ_STORE_UNIT_SIZE};
use libfuzzer_sys::fuzz_target;

/// Entries per segment: small, so inputs span several segments.
const UNITS: usize = 16;
const SEGMENT: usize = UNITS * CQ_STORE_UNIT_SIZE;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir_in(scratch()).unwrap();
    let qdir = dir.path().join("T").join("0");
    std::fs::create_dir_all(&qdir).unwrap();
    // a queue may start past 0 (its earlier segments deleted)
    let base = (flags >> 4) as i64 * SEGMENT as i64;
    // three segments: recovery checks the newest three and trusts older ones, as RocketMQ does
    for (i, chunk) in rest.chunks(SEGMENT).take(3).enumerate() {
        let mut seg = vec![0u8; SEGMENT];
        seg[..chunk.len()].copy_from_slice(chunk);
        let name = offset_to_file_name(base + (i * SEGMENT) as i64);
        std::fs::write(qdir.join(name), seg).unwrap();
    }

    let cq = ConsumeQueue::new(dir.path(), "T", 0, SEGMENT);
    if cq.load().is_err() {
        return;
    }
    cq.recover(flags & 1 != 0).unwrap();
    let (min, max) = (cq.min_offset_in_queue(), cq.max_offset_in_queue());
    assert!(min <= max, "min {min} > max {max}");
    for o in min..max {
        let u = cq.get(o).expect("every entry up to the max is readable");
        assert!(u.is_valid(), "recovery kept an invalid entry at {o}: {u:?}");
        if let Some(buf) = cq.get_index_buffer(o) {
            assert!(buf.count() > 0);
            assert_eq!(buf.get(0), Some(u));
        }
    }
    assert!(cq.get(max).is_none_or(|u| !u.is_valid()) || max == min);

    // the commit log ends somewhere: entries past it go, the rest stays
    let cut = i64::from(flags & 0x0e) * 64;
    if flags & 2 != 0 {
        cq.truncate_dirty_logic_files(cut).unwrap();
        cq.correct_min_offset(cut / 2);
    }
    let (min, max) = (cq.min_offset_in_queue(), cq.max_offset_in_queue());
    assert!(min <= max);
    let phy = cq.max_physic_offset().max(0);
    if cq.put_message_position_info(phy, 100, 7, max).unwrap() {
        let u = cq.get(max).expect("the new entry is readable");
        assert_eq!((u.phy_offset, u.size, u.tags_code), (phy, 100, 7));
        assert_eq!(cq.max_offset_in_queue(), max + 1);
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
