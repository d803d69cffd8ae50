//! The 40-byte header of an index file (RocketMQ `IndexHeader`).

/// Bytes of the header.
pub const INDEX_HEADER_SIZE: usize = 40;

const BEGIN_TIMESTAMP: usize = 0;
const END_TIMESTAMP: usize = 8;
const BEGIN_PHY_OFFSET: usize = 16;
const END_PHY_OFFSET: usize = 24;
const HASH_SLOT_COUNT: usize = 32;
const INDEX_COUNT: usize = 36;

/// What an index file covers: store times and CommitLog offsets of its first and last entry,
/// the number of used slots and the next entry number (entry 0 is never used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexHeader {
    /// Store time of the first entry (ms).
    pub begin_timestamp: i64,
    /// Store time of the newest entry (ms).
    pub end_timestamp: i64,
    /// CommitLog offset of the first entry.
    pub begin_phy_offset: i64,
    /// CommitLog offset of the newest entry.
    pub end_phy_offset: i64,
    /// Slots holding at least one entry.
    pub hash_slot_count: i32,
    /// Number of the next entry; 1 in an empty file.
    pub index_count: i32,
}

impl Default for IndexHeader {
    fn default() -> Self {
        IndexHeader {
            begin_timestamp: 0,
            end_timestamp: 0,
            begin_phy_offset: 0,
            end_phy_offset: 0,
            hash_slot_count: 0,
            index_count: 1,
        }
    }
}

fn long_at(b: &[u8; INDEX_HEADER_SIZE], at: usize) -> i64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(v)
}

fn int_at(b: &[u8; INDEX_HEADER_SIZE], at: usize) -> i32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(v)
}

impl IndexHeader {
    /// Reads a header; an index count below 1 (a file never written) reads as 1.
    pub fn decode(b: &[u8; INDEX_HEADER_SIZE]) -> Self {
        IndexHeader {
            begin_timestamp: long_at(b, BEGIN_TIMESTAMP),
            end_timestamp: long_at(b, END_TIMESTAMP),
            begin_phy_offset: long_at(b, BEGIN_PHY_OFFSET),
            end_phy_offset: long_at(b, END_PHY_OFFSET),
            hash_slot_count: int_at(b, HASH_SLOT_COUNT),
            index_count: int_at(b, INDEX_COUNT).max(1),
        }
    }

    /// The header's bytes (big-endian, as Java's `ByteBuffer` writes them).
    pub fn encode(&self) -> [u8; INDEX_HEADER_SIZE] {
        let mut b = [0u8; INDEX_HEADER_SIZE];
        b[BEGIN_TIMESTAMP..BEGIN_TIMESTAMP + 8]
            .copy_from_slice(&self.begin_timestamp.to_be_bytes());
        b[END_TIMESTAMP..END_TIMESTAMP + 8].copy_from_slice(&self.end_timestamp.to_be_bytes());
        b[BEGIN_PHY_OFFSET..BEGIN_PHY_OFFSET + 8]
            .copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        b[END_PHY_OFFSET..END_PHY_OFFSET + 8].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        b[HASH_SLOT_COUNT..HASH_SLOT_COUNT + 4]
            .copy_from_slice(&self.hash_slot_count.to_be_bytes());
        b[INDEX_COUNT..INDEX_COUNT + 4].copy_from_slice(&self.index_count.to_be_bytes());
        b
    }

    /// Whether the file holds at least one entry.
    pub fn has_entries(&self) -> bool {
        self.index_count > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_rocketmqs() {
        let h = IndexHeader {
            begin_timestamp: 0x0102030405060708,
            end_timestamp: 0x1112131415161718,
            begin_phy_offset: 0x2122232425262728,
            end_phy_offset: 0x3132333435363738,
            hash_slot_count: 0x41424344,
            index_count: 0x51525354,
        };
        let b = h.encode();
        assert_eq!(b[0], 0x01);
        assert_eq!(b[7], 0x08);
        assert_eq!(b[8], 0x11);
        assert_eq!(b[16], 0x21);
        assert_eq!(b[24], 0x31);
        assert_eq!(&b[32..36], &[0x41, 0x42, 0x43, 0x44]);
        assert_eq!(&b[36..40], &[0x51, 0x52, 0x53, 0x54]);
        assert_eq!(IndexHeader::decode(&b), h);
        let fresh = IndexHeader::decode(&[0u8; INDEX_HEADER_SIZE]);
        assert_eq!(fresh, IndexHeader::default());
        assert!(!fresh.has_entries());
    }
}
