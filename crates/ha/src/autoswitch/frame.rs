//! The frames of RocketMQ 5's auto-switch HA protocol (`AutoSwitchHAClient` /
//! `AutoSwitchHAConnection`), big-endian, no remoting framing:
//!
//! * slave → master: a 16-byte handshake `[state=1: i32][isSyncFromLastFile: i16]
//!   [isAsyncLearner: i16][slaveBrokerId: i64]`, then 12-byte acknowledgements
//!   `[state=2: i32][maxOffset: i64]`;
//! * master → slave: a 20-byte handshake header `[state=1: i32][bodySize: i32]
//!   [masterMaxOffset: i64][lastEpoch: i32]` followed by `bodySize / 12` epoch entries
//!   `[epoch: i32][startOffset: i64]`, then transfer frames with a 36-byte header
//!   `[state=2: i32][bodySize: i32][offset: i64][epoch: i32][epochStartOffset: i64]
//!   [confirmOffset: i64]` and `bodySize` CommitLog bytes (0 = heartbeat).
//!
//! The state values are `HAConnectionState` ordinals.

/// `HAConnectionState.HANDSHAKE`.
pub const STATE_HANDSHAKE: i32 = 1;
/// `HAConnectionState.TRANSFER`.
pub const STATE_TRANSFER: i32 = 2;
/// The slave's handshake (`AutoSwitchHAClient.HANDSHAKE_HEADER_SIZE`).
pub const SLAVE_HANDSHAKE_SIZE: usize = 16;
/// The slave's acknowledgement (`AutoSwitchHAClient.TRANSFER_HEADER_SIZE`).
pub const SLAVE_ACK_SIZE: usize = 12;
/// The master's handshake header (`AutoSwitchHAConnection.HANDSHAKE_HEADER_SIZE`).
pub const MASTER_HANDSHAKE_HEADER_SIZE: usize = 20;
/// The master's transfer header (`AutoSwitchHAConnection.TRANSFER_HEADER_SIZE`).
pub const TRANSFER_HEADER_SIZE: usize = 36;
/// One epoch entry in the master's handshake body (`EPOCH_ENTRY_SIZE`).
pub const EPOCH_ENTRY_SIZE: usize = 12;
/// Most epoch entries a handshake carries (RocketMQ's handshake buffer holds 1000).
pub const MAX_HANDSHAKE_EPOCHS: usize = 1000;

/// What a slave says when it connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaveHandshake {
    /// Start an empty replica at the master's last CommitLog file (`syncFromLastFile`).
    pub sync_from_last_file: bool,
    /// A replica that never joins the sync state set (`asyncLearner`).
    pub async_learner: bool,
    /// The slave's controller-assigned broker id.
    pub broker_id: i64,
}

impl SlaveHandshake {
    /// The 16 bytes on the wire.
    pub fn encode(&self) -> [u8; SLAVE_HANDSHAKE_SIZE] {
        let mut b = [0u8; SLAVE_HANDSHAKE_SIZE];
        b[..4].copy_from_slice(&STATE_HANDSHAKE.to_be_bytes());
        b[4..6].copy_from_slice(&i16::from(self.sync_from_last_file).to_be_bytes());
        b[6..8].copy_from_slice(&i16::from(self.async_learner).to_be_bytes());
        b[8..].copy_from_slice(&self.broker_id.to_be_bytes());
        b
    }

    /// Reads a handshake whose state field was already found to be HANDSHAKE. As RocketMQ's
    /// master, a flag counts as set only when it is exactly 1.
    pub fn decode(b: &[u8; SLAVE_HANDSHAKE_SIZE]) -> Self {
        SlaveHandshake {
            sync_from_last_file: be_i16(&b[4..6]) == 1,
            async_learner: be_i16(&b[6..8]) == 1,
            broker_id: be_i64(&b[8..16]),
        }
    }
}

/// A slave's TRANSFER acknowledgement: its CommitLog max offset.
pub fn encode_ack(max_offset: i64) -> [u8; SLAVE_ACK_SIZE] {
    let mut b = [0u8; SLAVE_ACK_SIZE];
    b[..4].copy_from_slice(&STATE_TRANSFER.to_be_bytes());
    b[4..].copy_from_slice(&max_offset.to_be_bytes());
    b
}

/// The master's handshake: its max offset, its last epoch (-1 without any) and every epoch
/// entry `(epoch, startOffset)`, oldest first.
pub fn encode_master_handshake(max_offset: i64, entries: &[(i32, i64)]) -> Vec<u8> {
    let entries = &entries[..entries.len().min(MAX_HANDSHAKE_EPOCHS)];
    let last_epoch = entries.last().map_or(-1, |(e, _)| *e);
    let body_size = (entries.len() * EPOCH_ENTRY_SIZE) as i32;
    let mut b = Vec::with_capacity(MASTER_HANDSHAKE_HEADER_SIZE + body_size as usize);
    b.extend_from_slice(&STATE_HANDSHAKE.to_be_bytes());
    b.extend_from_slice(&body_size.to_be_bytes());
    b.extend_from_slice(&max_offset.to_be_bytes());
    b.extend_from_slice(&last_epoch.to_be_bytes());
    for (epoch, start) in entries {
        b.extend_from_slice(&epoch.to_be_bytes());
        b.extend_from_slice(&start.to_be_bytes());
    }
    b
}

/// The epoch entries of a master handshake body (a trailing partial entry is ignored, as
/// RocketMQ's slave does).
pub fn decode_epoch_entries(body: &[u8]) -> Vec<(i32, i64)> {
    body.chunks_exact(EPOCH_ENTRY_SIZE)
        .map(|e| (be_i32(&e[..4]), be_i64(&e[4..12])))
        .collect()
}

/// The header of a master → slave frame; `epoch_start_offset` and `confirm_offset` are
/// only present (non-zero) in TRANSFER frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub state: i32,
    pub body_size: i32,
    /// TRANSFER: offset of the first body byte; HANDSHAKE: the master's max offset.
    pub offset: i64,
    /// TRANSFER: the epoch of the body; HANDSHAKE: the master's last epoch.
    pub epoch: i32,
    pub epoch_start_offset: i64,
    pub confirm_offset: i64,
}

impl FrameHeader {
    /// The size of this header on the wire.
    pub fn header_len(&self) -> usize {
        if self.state == STATE_TRANSFER {
            TRANSFER_HEADER_SIZE
        } else {
            MASTER_HANDSHAKE_HEADER_SIZE
        }
    }

    /// The 36 bytes of a TRANSFER header.
    pub fn encode_transfer(&self) -> [u8; TRANSFER_HEADER_SIZE] {
        let mut b = [0u8; TRANSFER_HEADER_SIZE];
        b[..4].copy_from_slice(&STATE_TRANSFER.to_be_bytes());
        b[4..8].copy_from_slice(&self.body_size.to_be_bytes());
        b[8..16].copy_from_slice(&self.offset.to_be_bytes());
        b[16..20].copy_from_slice(&self.epoch.to_be_bytes());
        b[20..28].copy_from_slice(&self.epoch_start_offset.to_be_bytes());
        b[28..36].copy_from_slice(&self.confirm_offset.to_be_bytes());
        b
    }

    /// Reads a header from the start of `b`; `None` until enough bytes are there (20 for a
    /// HANDSHAKE, 36 for a TRANSFER).
    pub fn decode(b: &[u8]) -> Option<FrameHeader> {
        if b.len() < MASTER_HANDSHAKE_HEADER_SIZE {
            return None;
        }
        let state = be_i32(&b[..4]);
        let mut h = FrameHeader {
            state,
            body_size: be_i32(&b[4..8]),
            offset: be_i64(&b[8..16]),
            epoch: be_i32(&b[16..20]),
            epoch_start_offset: 0,
            confirm_offset: 0,
        };
        if state == STATE_TRANSFER {
            if b.len() < TRANSFER_HEADER_SIZE {
                return None;
            }
            h.epoch_start_offset = be_i64(&b[20..28]);
            h.confirm_offset = be_i64(&b[28..36]);
        }
        Some(h)
    }
}

/// What the master reads from a slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaveFrame {
    Handshake(SlaveHandshake),
    Ack(i64),
}

/// Reads one slave frame from the start of `b`: `Ok(None)` until it is complete, with the
/// bytes it takes; an unknown state is an error (RocketMQ closes the connection).
pub fn decode_slave_frame(b: &[u8]) -> Result<Option<(SlaveFrame, usize)>, i32> {
    if b.len() < 4 {
        return Ok(None);
    }
    match be_i32(&b[..4]) {
        STATE_HANDSHAKE => Ok(b
            .get(..SLAVE_HANDSHAKE_SIZE)
            .and_then(|h| h.try_into().ok())
            .map(|h| {
                (
                    SlaveFrame::Handshake(SlaveHandshake::decode(h)),
                    SLAVE_HANDSHAKE_SIZE,
                )
            })),
        STATE_TRANSFER => Ok(b
            .get(4..SLAVE_ACK_SIZE)
            .map(|o| (SlaveFrame::Ack(be_i64(o)), SLAVE_ACK_SIZE))),
        other => Err(other),
    }
}

fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes([b[0], b[1]])
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Byte layouts below are written out by hand from the protocol description (replication
    // spec section 5.2 / 5.3), not produced by the encoders.

    #[test]
    fn slave_handshake_is_state_two_flags_and_the_broker_id() {
        let h = SlaveHandshake {
            sync_from_last_file: true,
            async_learner: false,
            broker_id: 0x0102_0304_0506_0708,
        };
        let wire = [0, 0, 0, 1, 0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(h.encode(), wire);
        assert_eq!(SlaveHandshake::decode(&wire), h);
        let learner = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(
            decode_slave_frame(&learner).unwrap(),
            Some((
                SlaveFrame::Handshake(SlaveHandshake {
                    sync_from_last_file: false,
                    async_learner: true,
                    broker_id: 3
                }),
                16
            ))
        );
        // a handshake is only taken whole
        assert_eq!(decode_slave_frame(&learner[..12]).unwrap(), None);
    }

    #[test]
    fn slave_ack_is_state_two_and_the_offset() {
        let wire = [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x10, 0x20];
        assert_eq!(encode_ack(0x1020), wire);
        assert_eq!(
            decode_slave_frame(&wire).unwrap(),
            Some((SlaveFrame::Ack(0x1020), 12))
        );
        assert_eq!(decode_slave_frame(&wire[..11]).unwrap(), None);
        assert_eq!(
            decode_slave_frame(&[0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(4)
        );
    }

    #[test]
    fn master_handshake_is_a_20_byte_header_and_12_byte_entries() {
        let wire = encode_master_handshake(0x0A0B, &[(1, 0), (2, 0x0500)]);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 1,                 // state HANDSHAKE
            0, 0, 0, 24,                // body: two entries
            0, 0, 0, 0, 0, 0, 0x0A, 0x0B, // master max offset
            0, 0, 0, 2,                 // last epoch
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,       // epoch 1 from 0
            0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x05, 0x00, // epoch 2 from 0x500
        ];
        assert_eq!(wire, expected);
        let h = FrameHeader::decode(&wire).unwrap();
        assert_eq!(
            (h.state, h.body_size, h.offset, h.epoch),
            (1, 24, 0x0A0B, 2)
        );
        assert_eq!(h.header_len(), 20);
        assert_eq!(decode_epoch_entries(&wire[20..]), vec![(1, 0), (2, 0x500)]);
        // no epochs: last epoch -1, empty body
        assert_eq!(
            encode_master_handshake(0, &[]),
            [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        );
    }

    #[test]
    fn transfer_header_is_36_bytes_in_write_order() {
        let h = FrameHeader {
            state: STATE_TRANSFER,
            body_size: 0x30,
            offset: 0x1000,
            epoch: 3,
            epoch_start_offset: 0x0800,
            confirm_offset: 0x0FF0,
        };
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 2,                       // state TRANSFER
            0, 0, 0, 0x30,                    // body size
            0, 0, 0, 0, 0, 0, 0x10, 0x00,     // offset
            0, 0, 0, 3,                       // epoch
            0, 0, 0, 0, 0, 0, 0x08, 0x00,     // epoch start offset
            0, 0, 0, 0, 0, 0, 0x0F, 0xF0,     // confirm offset
        ];
        assert_eq!(h.encode_transfer(), expected);
        assert_eq!(FrameHeader::decode(&expected), Some(h));
        assert_eq!(h.header_len(), 36);
        // a TRANSFER header is not read before all 36 bytes are there
        assert_eq!(FrameHeader::decode(&expected[..30]), None);
    }
}
