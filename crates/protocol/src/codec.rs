//! `RemotingCodec`: a tokio-util codec turning a byte stream into `RemotingCommand`s.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::command::RemotingCommand;
use crate::error::ProtocolError;
use crate::MAX_FRAME_LENGTH;

/// Frames commands as `[u32 length][u32 type|header length][header][body]`.
///
/// The length prefix stays in the buffer until the whole frame has arrived, so it is checked
/// against the 16 MiB limit before any buffer is reserved for the frame: a peer claiming a
/// 2 GiB frame costs nothing but an error. It never reserves room for a frame announced but not
/// yet received: how much to buffer is the reader's decision (see [`RemotingCodec::frame_length`]).
#[derive(Debug, Default)]
pub struct RemotingCodec;

impl RemotingCodec {
    /// A codec with RocketMQ's 16 MiB frame limit.
    pub fn new() -> Self {
        RemotingCodec
    }

    /// The total size (length prefix included) of the frame starting at `src[0]`, once its
    /// length prefix has arrived and passed the 16 MiB check.
    pub fn frame_length(src: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let Some(prefix) = src.get(..4) else {
            return Ok(None);
        };
        let declared = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if declared > MAX_FRAME_LENGTH {
            return Err(ProtocolError::FrameTooLarge(declared));
        }
        Ok(Some(4 + declared))
    }
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = ProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, ProtocolError> {
        let Some(total) = Self::frame_length(src)? else {
            return Ok(None);
        };
        if src.len() < total {
            // no reservation for the declared length: a peer that announces 16 MiB and stalls
            // must not cost 16 MiB; the reader grows its buffer as bytes arrive
            return Ok(None);
        }
        let declared = total - 4;
        src.advance(4);
        let frame = src.split_to(declared).freeze();
        RemotingCommand::decode(frame).map(Some)
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = ProtocolError;

    fn encode(&mut self, item: RemotingCommand, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        self.encode(&item, dst)
    }
}

impl Encoder<&RemotingCommand> for RemotingCodec {
    type Error = ProtocolError;

    fn encode(&mut self, item: &RemotingCommand, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        let before = dst.len();
        item.encode_into(dst);
        let len = dst.len() - before - 4;
        if len > MAX_FRAME_LENGTH {
            dst.truncate(before);
            return Err(ProtocolError::FrameTooLarge(len));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use proptest::prelude::*;

    #[test]
    fn decodes_frames_split_anywhere() {
        let cmd = RemotingCommand::request(34)
            .with_ext("k", "v")
            .with_body(&b"xyz"[..]);
        let wire = cmd.encode();
        for split in 0..wire.len() {
            let mut codec = RemotingCodec::new();
            let mut buf = BytesMut::from(&wire[..split]);
            assert!(codec.decode(&mut buf).unwrap().is_none());
            buf.extend_from_slice(&wire[split..]);
            assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), cmd);
        }
    }

    #[test]
    fn decodes_binary_headers_and_large_bodies_split_anywhere() {
        // the type/header-length word of a binary header reads as more than 16 MiB: it must
        // never be mistaken for a length prefix while a frame is incomplete
        let mut cmd = RemotingCommand::request(310).with_ext("b", "TopicTest");
        cmd.serialize_type = crate::SerializeType::RocketMq;
        cmd.body = vec![7u8; 70_000].into();
        let wire = cmd.encode();
        let mut codec = RemotingCodec::new();
        let mut buf = BytesMut::new();
        for chunk in wire.chunks(1000) {
            buf.extend_from_slice(chunk);
            if buf.len() < wire.len() {
                assert!(codec.decode(&mut buf).unwrap().is_none());
            }
        }
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), cmd);
        assert!(buf.is_empty());
    }

    #[test]
    fn a_frame_announced_but_not_received_reserves_nothing() {
        let mut codec = RemotingCodec::new();
        let mut buf = BytesMut::with_capacity(64);
        buf.put_u32(MAX_FRAME_LENGTH as u32);
        buf.put_u32(0);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() <= 64);
        assert_eq!(
            RemotingCodec::frame_length(&buf).unwrap(),
            Some(4 + MAX_FRAME_LENGTH)
        );
    }

    #[test]
    fn refuses_a_frame_claiming_two_gib_before_buffering_it() {
        let mut codec = RemotingCodec::new();
        let mut buf = BytesMut::new();
        buf.put_u32(0x8000_0000);
        buf.put_u32(0);
        let cap_before = buf.capacity();
        assert!(matches!(
            codec.decode(&mut buf),
            Err(ProtocolError::FrameTooLarge(_))
        ));
        assert!(buf.capacity() <= cap_before.max(64));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut codec = RemotingCodec::new();
            let mut buf = BytesMut::from(&data[..]);
            for _ in 0..4 {
                match codec.decode(&mut buf) {
                    Ok(Some(_)) => continue,
                    _ => break,
                }
            }
        }

        #[test]
        fn commands_round_trip(code in any::<i16>(), opaque in any::<i32>(), flag in 0i32..4,
                               remark in proptest::option::of("[ -~]{0,40}"),
                               fields in proptest::collection::vec(("[a-zA-Z]{1,12}", "[ -~\u{1}\u{2}]{0,30}"), 0..8),
                               body in proptest::collection::vec(any::<u8>(), 0..64),
                               binary in any::<bool>()) {
            let mut cmd = RemotingCommand::request(code as i32);
            cmd.opaque = opaque;
            cmd.flag = flag;
            // the binary header reads a zero-length remark back as "no remark"
            cmd.remark = remark.filter(|r| !(binary && r.is_empty()));
            for (k, v) in fields { cmd.ext_fields.insert(k, v); }
            cmd.body = body.into();
            if binary { cmd.serialize_type = crate::SerializeType::RocketMq; }
            let mut codec = RemotingCodec::new();
            let mut buf = BytesMut::new();
            codec.encode(&cmd, &mut buf).unwrap();
            let back = codec.decode(&mut buf).unwrap().unwrap();
            prop_assert_eq!(back, cmd);
        }
    }
}
