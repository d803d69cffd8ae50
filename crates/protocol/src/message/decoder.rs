//! Decoding stored records (commit log, pull bodies) and encoding [`MessageExt`] back.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use super::error::{MessageDecodeError, MessageEncodeError};
use super::ext::MessageExt;
use super::layout::{encode_stored_record_into, MessageVersion, StoredRecord, V1_FIXED_OVERHEAD};
use super::properties::{properties_to_string, string_to_properties};
use super::sys_flag::{self, BORNHOST_V6, STOREHOST_V6};
use super::{Message, BLANK_MAGIC};
use crate::util::create_message_id;

/// Default cap on an inflated body, so a small compressed bomb cannot exhaust memory.
pub const DEFAULT_MAX_INFLATED_BODY_SIZE: usize = 64 * 1024 * 1024;

/// How [`decode_message_with`] treats the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Copy the body out (otherwise it is left empty).
    pub read_body: bool,
    /// Inflate zlib-compressed bodies and clear the COMPRESSED bit; bodies compressed with
    /// another codec are left as they are.
    pub decompress_body: bool,
    /// Largest inflated body accepted.
    pub max_inflated_body_size: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            read_body: true,
            decompress_body: false,
            max_inflated_body_size: DEFAULT_MAX_INFLATED_BODY_SIZE,
        }
    }
}

impl DecodeOptions {
    /// Default options with body inflation on.
    pub fn decompressing() -> Self {
        DecodeOptions {
            decompress_body: true,
            ..DecodeOptions::default()
        }
    }
}

/// A stored record parsed in place: fixed fields by value, variable parts borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// TOTALSIZE.
    pub total_size: usize,
    /// Format given by the magic code.
    pub version: MessageVersion,
    /// BODYCRC.
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG.
    pub flag: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub physical_offset: i64,
    /// SYSFLAG.
    pub sys_flag: i32,
    /// BORNTIMESTAMP.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP.
    pub store_timestamp: i64,
    /// STOREHOSTADDRESS.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED TRANSACTION OFFSET.
    pub prepared_transaction_offset: i64,
    /// BODY.
    pub body: &'a [u8],
    /// TOPIC bytes.
    pub topic: &'a [u8],
    /// PROPERTIES bytes.
    pub properties: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// The topic, replacing invalid UTF-8 like Java does.
    pub fn topic_lossy(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.topic)
    }

    /// The properties string, replacing invalid UTF-8 like Java does.
    pub fn properties_lossy(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.properties)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], MessageDecodeError> {
        let available = self.buf.len() - self.pos;
        if n > available {
            return Err(MessageDecodeError::Truncated {
                field,
                needed: n,
                available,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], MessageDecodeError> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, MessageDecodeError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, MessageDecodeError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, MessageDecodeError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    fn len(&mut self, value: i32, field: &'static str) -> Result<usize, MessageDecodeError> {
        usize::try_from(value).map_err(|_| MessageDecodeError::NegativeLength { field, value })
    }

    fn host(&mut self, v6: bool, field: &'static str) -> Result<SocketAddr, MessageDecodeError> {
        let ip: IpAddr = if v6 {
            Ipv6Addr::from(self.array::<16>(field)?).into()
        } else {
            Ipv4Addr::from(self.array::<4>(field)?).into()
        };
        let port = self.i32(field)?;
        Ok(SocketAddr::new(ip, port as u16))
    }
}

/// TOTALSIZE and MAGICCODE of the record at the start of `buf`, if 8 bytes are there.
pub fn peek_record_header(buf: &[u8]) -> Option<(i32, i32)> {
    let size = i32::from_be_bytes(buf.get(0..4)?.try_into().ok()?);
    let magic = i32::from_be_bytes(buf.get(4..8)?.try_into().ok()?);
    Some((size, magic))
}

/// Parses the record at the start of `buf` without copying.
///
/// Every length is checked against TOTALSIZE and TOTALSIZE against `buf`, and the fields must
/// add up to exactly TOTALSIZE. A BLANK end-of-file header yields
/// [`MessageDecodeError::BlankRecord`].
pub fn parse_record(buf: &[u8]) -> Result<RecordView<'_>, MessageDecodeError> {
    let (total, magic) = peek_record_header(buf).ok_or(MessageDecodeError::Truncated {
        field: "TOTALSIZE/MAGICCODE",
        needed: 8,
        available: buf.len(),
    })?;
    if magic == BLANK_MAGIC {
        return Err(MessageDecodeError::BlankRecord { size: total });
    }
    let version = MessageVersion::from_magic(magic).ok_or(MessageDecodeError::BadMagic(magic))?;
    let total_size = usize::try_from(total)
        .ok()
        .filter(|t| *t >= V1_FIXED_OVERHEAD)
        .ok_or(MessageDecodeError::InvalidTotalSize(total as i64))?;
    if total_size > buf.len() {
        return Err(MessageDecodeError::Truncated {
            field: "record",
            needed: total_size,
            available: buf.len(),
        });
    }
    let mut r = Reader {
        buf: &buf[..total_size],
        pos: 8,
    };
    let body_crc = r.i32("BODYCRC")?;
    let queue_id = r.i32("QUEUEID")?;
    let flag = r.i32("FLAG")?;
    let queue_offset = r.i64("QUEUEOFFSET")?;
    let physical_offset = r.i64("PHYSICALOFFSET")?;
    let sys_flag = r.i32("SYSFLAG")?;
    let born_timestamp = r.i64("BORNTIMESTAMP")?;
    let born_host = r.host(sys_flag & BORNHOST_V6 != 0, "BORNHOST")?;
    let store_timestamp = r.i64("STORETIMESTAMP")?;
    let store_host = r.host(sys_flag & STOREHOST_V6 != 0, "STOREHOSTADDRESS")?;
    let reconsume_times = r.i32("RECONSUMETIMES")?;
    let prepared_transaction_offset = r.i64("PREPARED TRANSACTION OFFSET")?;
    let body_len = r.i32("BODYLENGTH")?;
    let body_len = r.len(body_len, "BODY")?;
    let body = r.take(body_len, "BODY")?;
    let topic_len = match version {
        MessageVersion::V1 => r.array::<1>("TOPICLENGTH")?[0] as usize,
        MessageVersion::V2 => {
            let n = r.i16("TOPICLENGTH")?;
            r.len(n as i32, "TOPIC")?
        }
    };
    let topic = r.take(topic_len, "TOPIC")?;
    let properties_len = r.i16("PROPERTIESLENGTH")?;
    let properties_len = r.len(properties_len as i32, "PROPERTIES")?;
    let properties = r.take(properties_len, "PROPERTIES")?;
    if r.pos != total_size {
        return Err(MessageDecodeError::LengthMismatch {
            declared: total_size,
            actual: r.pos,
        });
    }
    Ok(RecordView {
        total_size,
        version,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    })
}

/// Inflates a zlib body, refusing results larger than `max`.
pub fn inflate_body(body: &[u8], max: usize) -> Result<Vec<u8>, MessageDecodeError> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| MessageDecodeError::Inflate(e.to_string()))?;
    if out.len() > max {
        return Err(MessageDecodeError::Inflate(format!(
            "inflated body exceeds {max} bytes"
        )));
    }
    Ok(out)
}

fn build(
    view: &RecordView<'_>,
    body: impl FnOnce(&[u8]) -> Bytes,
    opts: &DecodeOptions,
) -> Result<MessageExt, MessageDecodeError> {
    let mut sys_flag = view.sys_flag;
    let body = if !opts.read_body {
        Bytes::new()
    } else if opts.decompress_body && sys_flag::is_zlib_compressed(sys_flag) {
        sys_flag &= !sys_flag::COMPRESSED;
        Bytes::from(inflate_body(view.body, opts.max_inflated_body_size)?)
    } else {
        body(view.body)
    };
    Ok(MessageExt {
        message: Message {
            topic: view.topic_lossy().into_owned(),
            flag: view.flag,
            properties: string_to_properties(&view.properties_lossy()),
            body,
        },
        queue_id: view.queue_id,
        store_size: view.total_size as i32,
        queue_offset: view.queue_offset,
        sys_flag,
        born_timestamp: view.born_timestamp,
        born_host: view.born_host,
        store_timestamp: view.store_timestamp,
        store_host: view.store_host,
        msg_id: create_message_id(view.store_host, view.physical_offset),
        commit_log_offset: view.physical_offset,
        body_crc: view.body_crc,
        reconsume_times: view.reconsume_times,
        prepared_transaction_offset: view.prepared_transaction_offset,
    })
}

/// Decodes the record at the start of `buf`; returns it and the bytes it took.
pub fn decode_message(buf: &[u8]) -> Result<(MessageExt, usize), MessageDecodeError> {
    decode_message_with(buf, &DecodeOptions::default())
}

/// [`decode_message`] with explicit options.
pub fn decode_message_with(
    buf: &[u8],
    opts: &DecodeOptions,
) -> Result<(MessageExt, usize), MessageDecodeError> {
    let view = parse_record(buf)?;
    let msg = build(&view, Bytes::copy_from_slice, opts)?;
    Ok((msg, view.total_size))
}

/// Decodes a concatenation of records (a pull body).
pub fn decode_messages(buf: &[u8]) -> Result<Vec<MessageExt>, MessageDecodeError> {
    decode_messages_with(buf, &DecodeOptions::default())
}

/// [`decode_messages`] with explicit options.
pub fn decode_messages_with(
    mut buf: &[u8],
    opts: &DecodeOptions,
) -> Result<Vec<MessageExt>, MessageDecodeError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (m, n) = decode_message_with(buf, opts)?;
        out.push(m);
        buf = &buf[n..];
    }
    Ok(out)
}

/// [`decode_messages_with`] over shared bytes: uncompressed bodies are slices of `buf`.
pub fn decode_messages_bytes(
    buf: &Bytes,
    opts: &DecodeOptions,
) -> Result<Vec<MessageExt>, MessageDecodeError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let view = parse_record(&buf[pos..])?;
        out.push(build(&view, |b| buf.slice_ref(b), opts)?);
        pos += view.total_size;
    }
    Ok(out)
}

/// Encodes `msg` in the stored layout: the exact inverse of [`decode_message`].
///
/// V1 unless the topic is longer than 127 bytes; the IPv6 bits of the stored sys flag follow
/// the hosts; TOTALSIZE is computed, so `store_size` and `msg_id` are not read.
pub fn encode_message_ext(msg: &MessageExt) -> Result<Vec<u8>, MessageEncodeError> {
    let mut out = Vec::new();
    encode_message_ext_into(msg, &mut out)?;
    Ok(out)
}

/// [`encode_message_ext`] appended to `out`: a batch of records is built in one buffer, each
/// body copied once.
pub fn encode_message_ext_into(
    msg: &MessageExt,
    out: &mut Vec<u8>,
) -> Result<(), MessageEncodeError> {
    let properties = properties_to_string(&msg.message.properties);
    let rec = StoredRecord {
        body_crc: msg.body_crc,
        queue_id: msg.queue_id,
        flag: msg.message.flag,
        queue_offset: msg.queue_offset,
        physical_offset: msg.commit_log_offset,
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        store_timestamp: msg.store_timestamp,
        store_host: msg.store_host,
        reconsume_times: msg.reconsume_times,
        prepared_transaction_offset: msg.prepared_transaction_offset,
        body: &msg.message.body,
        topic: msg.message.topic.as_bytes(),
        properties: properties.as_bytes(),
    };
    let start = out.len();
    out.resize(start + rec.layout()?.total_size(), 0);
    encode_stored_record_into(&mut out[start..], &rec)?;
    Ok(())
}
