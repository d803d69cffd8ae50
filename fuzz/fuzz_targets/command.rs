//! `RemotingCommand::decode` on one frame (JSON or ROCKETMQ binary header, then body):
//! an error or a command, never a panic; a decoded command re-encodes to an equal one.
#![no_main]

use bytes::Bytes;
use ferrocket_protocol::RemotingCommand;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = RemotingCommand::decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    let wire = cmd.encode();
    let back = RemotingCommand::decode(wire.slice(4..)).expect("re-encoded command decodes");
    assert_eq!(back.serialize_type, cmd.serialize_type);
    assert_eq!(back.code, cmd.code);
    assert_eq!(back.version, cmd.version);
    assert_eq!(back.opaque, cmd.opaque);
    assert_eq!(back.flag, cmd.flag);
    assert_eq!(back.ext_fields, cmd.ext_fields);
    assert_eq!(back.body, cmd.body);
    // the binary header cannot carry an empty remark, JSON can
    let empty_as_none = |r: &Option<String>| r.clone().filter(|r| !r.is_empty());
    assert_eq!(empty_as_none(&back.remark), empty_as_none(&cmd.remark));
});
