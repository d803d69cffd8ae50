//! The stored-record decoders (CommitLog layout, pull bodies, batch bodies) on arbitrary
//! bytes: errors, never panics; a record that decodes re-encodes into one that decodes equal.
#![no_main]

use bytes::Bytes;
use ferrocket_protocol::message::{
    decode_batch_body, decode_message, decode_messages, decode_messages_bytes,
    decode_messages_with, encode_message_ext, parse_record, DecodeOptions,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(view) = parse_record(data) {
        assert!(view.total_size <= data.len());
    }
    if let Ok((msg, used)) = decode_message(data) {
        assert!(used <= data.len());
        if let Ok(again) = encode_message_ext(&msg) {
            let (back, n) = decode_message(&again).expect("a re-encoded record decodes");
            assert_eq!(n, again.len());
            assert_eq!(back.message, msg.message);
            assert_eq!(back.queue_offset, msg.queue_offset);
            assert_eq!(back.commit_log_offset, msg.commit_log_offset);
            assert_eq!(back.store_timestamp, msg.store_timestamp);
            assert_eq!(back.born_host, msg.born_host);
            assert_eq!(back.store_host, msg.store_host);
        }
    }
    let _ = decode_messages(data);
    // small inflate cap: a compression bomb must end in an error, not in memory exhaustion
    let opts = DecodeOptions {
        read_body: true,
        decompress_body: true,
        max_inflated_body_size: 1 << 20,
    };
    let _ = decode_messages_with(data, &opts);
    let shared = Bytes::copy_from_slice(data);
    let _ = decode_messages_bytes(&shared, &opts);
    let _ = decode_batch_body(&shared);
});
