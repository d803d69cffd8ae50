use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::util::{crc32, create_message_id};

fn v4(a: u8, port: u16) -> SocketAddr {
    SocketAddr::new(Ipv4Addr::new(10, 0, 0, a).into(), port)
}

fn sample() -> MessageExt {
    let mut m = Message::new("TopicTest", Bytes::from_static(b"Hello RocketMQ"));
    m.flag = 7;
    m.set_tags("TagA");
    m.set_keys(["k1", "k2"]);
    m.set_unique_key("AC1100010001000000000000000A0001");
    let store_host = v4(2, 10911);
    MessageExt {
        body_crc: crc32(&m.body),
        message: m,
        queue_id: 3,
        store_size: 0,
        queue_offset: 42,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: v4(1, 54321),
        store_timestamp: 1_700_000_000_123,
        store_host,
        msg_id: create_message_id(store_host, 4096),
        commit_log_offset: 4096,
        reconsume_times: 1,
        prepared_transaction_offset: 0,
    }
}

/// What decoding `m`'s encoding must give back.
fn normalized(mut m: MessageExt, size: usize) -> MessageExt {
    m.store_size = size as i32;
    m.sys_flag = sys_flag_for_hosts(m.sys_flag, &m.born_host, &m.store_host);
    m.msg_id = create_message_id(m.store_host, m.commit_log_offset);
    m
}

#[test]
fn empty_v1_ipv4_record_is_91_bytes_with_known_layout() {
    let mut m = MessageExt {
        born_host: SocketAddr::new(Ipv4Addr::new(1, 2, 3, 4).into(), 0x0506),
        store_host: SocketAddr::new(Ipv4Addr::new(9, 8, 7, 6).into(), 0x0A0B),
        ..MessageExt::default()
    };
    m.body_crc = 0x11;
    m.queue_id = 0x22;
    m.message.flag = 0x33;
    m.queue_offset = 0x44;
    m.commit_log_offset = 0x55;
    m.born_timestamp = 0x66;
    m.store_timestamp = 0x77;
    m.reconsume_times = 0x88;
    m.prepared_transaction_offset = 0x99;
    let b = encode_message_ext(&m).unwrap();
    assert_eq!(b.len(), 91);
    assert_eq!(b.len(), V1_FIXED_OVERHEAD);
    let mut expected = Vec::new();
    expected.extend_from_slice(&91i32.to_be_bytes());
    expected.extend_from_slice(&[0xDA, 0xA3, 0x20, 0xA7]);
    expected.extend_from_slice(&0x11i32.to_be_bytes());
    expected.extend_from_slice(&0x22i32.to_be_bytes());
    expected.extend_from_slice(&0x33i32.to_be_bytes());
    expected.extend_from_slice(&0x44i64.to_be_bytes());
    expected.extend_from_slice(&0x55i64.to_be_bytes());
    expected.extend_from_slice(&0i32.to_be_bytes());
    expected.extend_from_slice(&0x66i64.to_be_bytes());
    expected.extend_from_slice(&[1, 2, 3, 4, 0, 0, 5, 6]);
    expected.extend_from_slice(&0x77i64.to_be_bytes());
    expected.extend_from_slice(&[9, 8, 7, 6, 0, 0, 0x0A, 0x0B]);
    expected.extend_from_slice(&0x88i32.to_be_bytes());
    expected.extend_from_slice(&0x99i64.to_be_bytes());
    expected.extend_from_slice(&0i32.to_be_bytes()); // body length
    expected.push(0); // topic length
    expected.extend_from_slice(&0i16.to_be_bytes()); // properties length
    assert_eq!(b, expected);
    // the documented field positions
    assert_eq!(
        &b[MAGIC_POSITION..MAGIC_POSITION + 4],
        &MAGIC_V1.to_be_bytes()
    );
    assert_eq!(&b[FLAG_POSITION..FLAG_POSITION + 4], &0x33i32.to_be_bytes());
    assert_eq!(
        &b[QUEUE_OFFSET_POSITION..QUEUE_OFFSET_POSITION + 8],
        &0x44i64.to_be_bytes()
    );
    assert_eq!(
        &b[PHYSICAL_OFFSET_POSITION..PHYSICAL_OFFSET_POSITION + 8],
        &0x55i64.to_be_bytes()
    );
    assert_eq!(
        &b[STORE_TIMESTAMP_POSITION..STORE_TIMESTAMP_POSITION + 8],
        &0x77i64.to_be_bytes()
    );
    assert_eq!(MAGIC_V1, -626843481);
    assert_eq!(MAGIC_V2, -626843477);
    assert_eq!(BLANK_MAGIC, -875286124);
}

#[test]
fn overhead_grows_with_v2_and_ipv6() {
    let l = StoredMessageLayout::new(0, 0, 0, false, false).unwrap();
    assert_eq!(l.total_size(), 91);
    assert_eq!(
        StoredMessageLayout::new(0, 128, 0, false, false)
            .unwrap()
            .total_size(),
        92 + 128
    );
    assert_eq!(
        StoredMessageLayout::new(0, 0, 0, true, false)
            .unwrap()
            .total_size(),
        103
    );
    assert_eq!(
        StoredMessageLayout::new(0, 0, 0, true, true)
            .unwrap()
            .total_size(),
        115
    );
    assert_eq!(
        StoredMessageLayout::new(10, 5, 7, false, false)
            .unwrap()
            .total_size(),
        113
    );
    assert!(matches!(
        StoredMessageLayout::new(0, 0, 40_000, false, false),
        Err(MessageEncodeError::PropertiesTooLong(40_000))
    ));
    assert!(matches!(
        StoredMessageLayout::new(0, 40_000, 0, false, false),
        Err(MessageEncodeError::TopicTooLong(40_000))
    ));
}

#[test]
fn round_trips_a_typical_message() {
    let m = sample();
    let b = encode_message_ext(&m).unwrap();
    let (d, n) = decode_message(&b).unwrap();
    assert_eq!(n, b.len());
    assert_eq!(d, normalized(m, b.len()));
    assert_eq!(d.tags(), Some("TagA"));
    assert_eq!(d.keys(), Some("k1 k2"));
    assert_eq!(d.key_list().collect::<Vec<_>>(), ["k1", "k2"]);
    assert_eq!(d.unique_id(), "AC1100010001000000000000000A0001");
    assert_eq!(d.msg_id, "0A00000200002A9F0000000000001000");
    let view = parse_record(&b).unwrap();
    assert_eq!(view.version, MessageVersion::V1);
    assert_eq!(view.topic, b"TopicTest");
}

#[test]
fn unique_id_falls_back_to_offset_id() {
    let mut m = sample();
    m.message.properties.remove(property::UNIQ_KEY);
    assert_eq!(m.unique_id(), m.msg_id);
}

#[test]
fn long_topics_use_v2_and_ipv6_hosts_set_flags() {
    let mut m = sample();
    m.message.topic = "%RETRY%".to_string() + &"g".repeat(200);
    m.born_host = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 1);
    m.store_host = SocketAddr::new("fe80::1".parse::<IpAddr>().unwrap(), 10911);
    let b = encode_message_ext(&m).unwrap();
    assert_eq!(&b[4..8], &MAGIC_V2.to_be_bytes());
    let (d, _) = decode_message(&b).unwrap();
    assert_eq!(
        d.sys_flag & (sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6),
        0x30
    );
    assert_eq!(d.msg_id.len(), 56);
    assert_eq!(d, normalized(m, b.len()));
}

#[test]
fn decode_messages_reads_a_pull_body() {
    let mut body = Vec::new();
    let mut expected = Vec::new();
    for i in 0..5 {
        let mut m = sample();
        m.queue_offset = i;
        m.commit_log_offset = 1000 * i;
        let b = encode_message_ext(&m).unwrap();
        expected.push(normalized(m, b.len()));
        body.extend_from_slice(&b);
    }
    assert_eq!(decode_messages(&body).unwrap(), expected);
    let shared = Bytes::from(body.clone());
    let zero_copy = decode_messages_bytes(&shared, &DecodeOptions::default()).unwrap();
    assert_eq!(zero_copy, expected);
    assert_eq!(decode_messages(&[]).unwrap(), vec![]);
    // a torn last record is an error, not a panic
    assert!(decode_messages(&body[..body.len() - 3]).is_err());
}

#[test]
fn inflates_zlib_bodies_on_request() {
    let plain = b"compress me ".repeat(100);
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
    enc.write_all(&plain).unwrap();
    let compressed = enc.finish().unwrap();
    let mut m = sample();
    m.message.body = Bytes::from(compressed.clone());
    m.sys_flag = sys_flag::COMPRESSED;
    let b = encode_message_ext(&m).unwrap();

    let (raw, _) = decode_message(&b).unwrap();
    assert_eq!(raw.body, compressed);
    assert_eq!(raw.sys_flag & sys_flag::COMPRESSED, sys_flag::COMPRESSED);

    let (d, _) = decode_message_with(&b, &DecodeOptions::decompressing()).unwrap();
    assert_eq!(&d.body[..], &plain[..]);
    assert_eq!(d.sys_flag & sys_flag::COMPRESSED, 0);

    let small = DecodeOptions {
        max_inflated_body_size: 100,
        ..DecodeOptions::decompressing()
    };
    assert!(matches!(
        decode_message_with(&b, &small),
        Err(MessageDecodeError::Inflate(_))
    ));

    m.message.body = Bytes::from_static(b"not zlib at all");
    let b = encode_message_ext(&m).unwrap();
    assert!(matches!(
        decode_message_with(&b, &DecodeOptions::decompressing()),
        Err(MessageDecodeError::Inflate(_))
    ));
    // LZ4 bodies are passed through untouched
    m.sys_flag = sys_flag::COMPRESSED | sys_flag::COMPRESSION_LZ4;
    let b = encode_message_ext(&m).unwrap();
    let (d, _) = decode_message_with(&b, &DecodeOptions::decompressing()).unwrap();
    assert_eq!(d.body, m.message.body);
}

#[test]
fn skipping_the_body() {
    let b = encode_message_ext(&sample()).unwrap();
    let opts = DecodeOptions {
        read_body: false,
        ..DecodeOptions::default()
    };
    let (d, n) = decode_message_with(&b, &opts).unwrap();
    assert!(d.body.is_empty());
    assert_eq!(n, b.len());
}

#[test]
fn rejects_blank_bad_magic_and_inconsistent_lengths() {
    let mut blank = [0u8; 16];
    assert_eq!(encode_blank_record_into(&mut blank, 16).unwrap(), 8);
    assert_eq!(peek_record_header(&blank), Some((16, BLANK_MAGIC)));
    assert_eq!(
        parse_record(&blank),
        Err(MessageDecodeError::BlankRecord { size: 16 })
    );

    let good = encode_message_ext(&sample()).unwrap();
    let mut bad = good.clone();
    bad[4] ^= 0xFF;
    assert!(matches!(
        parse_record(&bad),
        Err(MessageDecodeError::BadMagic(_))
    ));

    // TOTALSIZE one larger than the fields
    let mut longer = good.clone();
    longer.push(0);
    longer[..4].copy_from_slice(&((good.len() + 1) as i32).to_be_bytes());
    assert!(matches!(
        parse_record(&longer),
        Err(MessageDecodeError::LengthMismatch { .. })
    ));

    // body length pointing past the record
    let mut body_len = good.clone();
    body_len[84..88].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(
        parse_record(&body_len),
        Err(MessageDecodeError::Truncated { .. })
    ));
    body_len[84..88].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(matches!(
        parse_record(&body_len),
        Err(MessageDecodeError::NegativeLength { .. })
    ));

    let mut small = good.clone();
    small[..4].copy_from_slice(&10i32.to_be_bytes());
    assert!(matches!(
        parse_record(&small),
        Err(MessageDecodeError::InvalidTotalSize(10))
    ));
    assert!(parse_record(&good[..5]).is_err());
}

#[test]
fn stored_record_encoder_writes_into_a_larger_buffer() {
    let rec = StoredRecord {
        body_crc: 1,
        queue_id: 2,
        flag: 3,
        queue_offset: 4,
        physical_offset: 5,
        sys_flag: 0,
        born_timestamp: 6,
        born_host: v4(1, 1),
        store_timestamp: 7,
        store_host: v4(2, 2),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: b"body",
        topic: b"T",
        properties: b"A\x011\x02",
    };
    let layout = rec.layout().unwrap();
    let mut buf = vec![0xEEu8; layout.total_size() + 10];
    let n = encode_with_layout(&mut buf, &rec, &layout).unwrap();
    assert_eq!(n, 91 + 4 + 1 + 4);
    assert!(buf[n..].iter().all(|b| *b == 0xEE));
    let v = parse_record(&buf).unwrap();
    assert_eq!(
        (v.body, v.topic, v.properties),
        (&b"body"[..], &b"T"[..], &b"A\x011\x02"[..])
    );
    let mut tiny = [0u8; 20];
    assert!(matches!(
        encode_stored_record_into(&mut tiny, &rec),
        Err(MessageEncodeError::BufferTooSmall { .. })
    ));
}

#[test]
fn batch_body_round_trip() {
    let mut a = Message::new("T", Bytes::from_static(b"one"));
    a.flag = 1;
    a.set_tags("x");
    let mut b = Message::new("T", Bytes::from_static(b""));
    b.set_unique_key("u2");
    let body = Bytes::from(encode_batch_body(&[a.clone(), b.clone()]).unwrap());
    // first record: 4+4+4+4+4+3+2+len("TAGS\1x\2")
    assert_eq!(i32::from_be_bytes(body[..4].try_into().unwrap()), 25 + 7);
    let decoded = decode_batch_body(&body).unwrap();
    assert_eq!(decoded.len(), 2);
    assert_eq!(decoded[0].clone().into_message("T"), a);
    assert_eq!(decoded[1].clone().into_message("T"), b);
    assert!(decode_batch_body(&body.slice(..body.len() - 1)).is_err());
    assert!(decode_batch_body(&Bytes::new()).unwrap().is_empty());
}

#[test]
fn message_helpers() {
    let mut m = Message::new("T", Bytes::new());
    assert!(m.wait_store_msg_ok());
    m.set_wait_store_msg_ok(false);
    assert!(!m.wait_store_msg_ok());
    assert_eq!(m.delay_time_level(), 0);
    m.set_delay_time_level(3);
    assert_eq!(m.delay_time_level(), 3);
    m.set_property(property::TRANSACTION_ID, "tx");
    assert_eq!(m.transaction_id(), Some("tx"));
    assert_eq!(
        m.remove_property(property::TRANSACTION_ID),
        Some("tx".into())
    );
    assert!(m.properties_string().contains("DELAY\u{1}3\u{2}"));
}

fn arb_host() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(Ipv4Addr::from(ip).into(), p)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(Ipv6Addr::from(ip).into(), p)),
    ]
}

prop_compose! {
    fn arb_message_ext()(
        topic in "[a-zA-Z0-9%_-]{0,200}",
        flag in any::<i32>(),
        props in proptest::collection::vec(("[A-Za-z_]{1,10}", "[^\u{1}\u{2}]{1,20}"), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        queue_id in any::<i32>(),
        queue_offset in any::<i64>(),
        sys_flag in any::<i32>(),
        born_timestamp in any::<i64>(),
        born_host in arb_host(),
        store_timestamp in any::<i64>(),
        store_host in arb_host(),
        commit_log_offset in any::<i64>(),
        body_crc in any::<i32>(),
        reconsume_times in any::<i32>(),
        prepared_transaction_offset in any::<i64>(),
    ) -> MessageExt {
        MessageExt {
            message: Message { topic, flag, properties: props.into_iter().collect(), body: body.into() },
            queue_id, store_size: 0, queue_offset, sys_flag, born_timestamp, born_host,
            store_timestamp, store_host, msg_id: String::new(), commit_log_offset, body_crc,
            reconsume_times, prepared_transaction_offset,
        }
    }
}

proptest! {
    #[test]
    fn encode_decode_round_trip(m in arb_message_ext()) {
        let b = encode_message_ext(&m).unwrap();
        let (d, n) = decode_message(&b).unwrap();
        prop_assert_eq!(n, b.len());
        prop_assert_eq!(&d, &normalized(m, b.len()));
        prop_assert_eq!(encode_message_ext(&d).unwrap(), b);
    }

    #[test]
    fn truncated_records_are_errors(m in arb_message_ext(), cut in any::<prop::sample::Index>()) {
        let b = encode_message_ext(&m).unwrap();
        let cut = cut.index(b.len());
        prop_assert!(decode_message(&b[..cut]).is_err());
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_messages(&bytes);
        let _ = decode_messages_with(&bytes, &DecodeOptions::decompressing());
        let _ = decode_batch_body(&Bytes::from(bytes));
    }

    #[test]
    fn corrupted_records_never_panic(m in arb_message_ext(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut b = encode_message_ext(&m).unwrap();
        for (i, v) in flips {
            let i = i.index(b.len());
            b[i] = v;
        }
        let _ = decode_messages_with(&b, &DecodeOptions::decompressing());
    }

    #[test]
    fn batch_round_trip(msgs in proptest::collection::vec((any::<i32>(), proptest::collection::vec(any::<u8>(), 0..50), proptest::collection::vec(("[A-Z]{1,5}", "[a-z0-9]{1,8}"), 0..4)), 0..6)) {
        let msgs: Vec<Message> = msgs.into_iter().map(|(flag, body, props)| Message {
            topic: "T".into(), flag, properties: props.into_iter().collect(), body: body.into(),
        }).collect();
        let body = Bytes::from(encode_batch_body(&msgs).unwrap());
        let decoded: Vec<Message> = decode_batch_body(&body).unwrap().into_iter().map(|b| b.into_message("T")).collect();
        prop_assert_eq!(decoded, msgs);
    }
}
