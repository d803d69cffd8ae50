//! Trace message bodies (TraceDataEncoder's records) to the trace decoder: errors, never panics;
//! whatever decodes encodes into text that decodes to the same records.
#![no_main]

use ferrocket_protocol::trace::{decode_trace_data, encode_trace_data};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(records) = decode_trace_data(&text) {
        let again = decode_trace_data(&encode_trace_data(&records))
            .expect("encoded records decode");
        // a field with a separator in it cannot come from the decoder, so the records match
        assert_eq!(again.len(), records.len(), "record count changed");
        for (a, b) in again.iter().zip(&records) {
            assert_eq!(a.trace_type, b.trace_type);
            assert_eq!(a.msg_id, b.msg_id);
        }
    }
});
