//! Message `sysFlag` bits (RocketMQ `MessageSysFlag`).

/// The body is compressed (zlib unless the compression type bits say otherwise).
pub const COMPRESSED: i32 = 0x1;
/// The topic uses multi-tag filtering.
pub const MULTI_TAGS: i32 = 0x2;
/// Not a transactional message (transaction type 0).
pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
/// A transactional half message.
pub const TRANSACTION_PREPARED: i32 = 0x4;
/// A committed transactional message.
pub const TRANSACTION_COMMIT: i32 = 0x8;
/// A rolled-back transactional message.
pub const TRANSACTION_ROLLBACK: i32 = 0xC;
/// The bits holding the transaction type.
pub const TRANSACTION_MASK: i32 = 0xC;
/// The born host is an IPv6 address.
pub const BORNHOST_V6: i32 = 0x10;
/// The store host is an IPv6 address.
pub const STOREHOST_V6: i32 = 0x20;
/// An inner batch that the client must unwrap.
pub const NEED_UNWRAP: i32 = 0x40;
/// An inner batch (batch consume queue).
pub const INNER_BATCH: i32 = 0x80;
/// The bits holding the compression type (shifted by 8).
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
/// Compression type LZ4.
pub const COMPRESSION_LZ4: i32 = 0x100;
/// Compression type ZSTD.
pub const COMPRESSION_ZSTD: i32 = 0x200;
/// Compression type ZLIB.
pub const COMPRESSION_ZLIB: i32 = 0x300;

/// The transaction type bits of `flag` (`MessageSysFlag.getTransactionValue`).
pub fn transaction_value(flag: i32) -> i32 {
    flag & TRANSACTION_MASK
}

/// Replaces the transaction type bits of `flag` with `ty`.
pub fn reset_transaction_value(flag: i32, ty: i32) -> i32 {
    (flag & !TRANSACTION_MASK) | (ty & TRANSACTION_MASK)
}

/// Whether the body of a message with this flag is zlib-compressed (type 0 means zlib).
pub fn is_zlib_compressed(flag: i32) -> bool {
    flag & COMPRESSED != 0 && matches!(flag & COMPRESSION_TYPE_MASK, 0 | COMPRESSION_ZLIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_bits() {
        assert_eq!(
            transaction_value(0x13 | TRANSACTION_COMMIT),
            TRANSACTION_COMMIT
        );
        assert_eq!(
            reset_transaction_value(0x11 | TRANSACTION_ROLLBACK, TRANSACTION_PREPARED),
            0x11 | TRANSACTION_PREPARED
        );
    }

    #[test]
    fn zlib_detection() {
        assert!(is_zlib_compressed(COMPRESSED));
        assert!(is_zlib_compressed(COMPRESSED | COMPRESSION_ZLIB));
        assert!(!is_zlib_compressed(COMPRESSED | COMPRESSION_LZ4));
        assert!(!is_zlib_compressed(COMPRESSION_ZLIB));
    }
}
