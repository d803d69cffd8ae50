//! `RemotingCodec` over an arbitrary byte stream, delivered in two chunks: it must return
//! frames or an error, never panic, and every frame it yields must survive a re-encode.
#![no_main]

use bytes::BytesMut;
use ferrocket_protocol::{RemotingCodec, RemotingCommand};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

fn drain(codec: &mut RemotingCodec, buf: &mut BytesMut, out: &mut Vec<RemotingCommand>) -> bool {
    loop {
        match codec.decode(buf) {
            Ok(Some(cmd)) => out.push(cmd),
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let mut codec = RemotingCodec::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    buf.extend_from_slice(&data[..split]);
    if drain(&mut codec, &mut buf, &mut frames) {
        buf.extend_from_slice(&data[split..]);
        drain(&mut codec, &mut buf, &mut frames);
    }
    for cmd in frames {
        let mut wire = BytesMut::new();
        if codec.encode(&cmd, &mut wire).is_err() {
            continue; // re-encoding may exceed the frame limit
        }
        let back = codec
            .decode(&mut wire)
            .expect("an encoded command decodes")
            .expect("an encoded command is a whole frame");
        assert!(wire.is_empty(), "one frame in, one frame out");
        assert_eq!(back.code, cmd.code);
        assert_eq!(back.opaque, cmd.opaque);
        assert_eq!(back.flag, cmd.flag);
        assert_eq!(back.ext_fields, cmd.ext_fields);
        assert_eq!(back.body, cmd.body);
    }
});
