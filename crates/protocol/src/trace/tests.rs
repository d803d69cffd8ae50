use proptest::prelude::*;

use super::*;

// Records as the official Java client writes them: the first ones from a 5.5.0 producer and push
// consumer against an Apache RocketMQ 5.3.1 broker, the others from its
// `TraceDataEncoder.encoderFromContextBean`.
const APACHE_PUB: &str = "Pub\u{1}1796319497605\u{1}DefaultRegion\u{1}probe_p\u{1}ProbeTopic\u{1}\
FD000000000000000000000000000002600730946E090E159D840000\u{1}TagT\u{1}k0\u{1}127.0.0.1:21011\u{1}2\u{1}\
244\u{1}0\u{1}7F000001000052130000000000000000\u{1}true\u{2}Pub\u{1}1796319497862\u{1}DefaultRegion\u{1}\
probe_p\u{1}ProbeTopic\u{1}FD000000000000000000000000000002600730946E090E159E860002\u{1}TagT\u{1}k1\u{1}\
127.0.0.1:21011\u{1}2\u{1}12\u{1}0\u{1}7F000001000052130000000000000103\u{1}true\u{2}";
const APACHE_SUB: &str = "SubBefore\u{1}1796319499638\u{1}DefaultRegion\u{1}probe_c\u{1}\
FD000000000000000000000000000002600730946E090E15A5760004\u{1}\
FD000000000000000000000000000002600730946E090E159E860002\u{1}0\u{1}k1\u{2}SubAfter\u{1}\
FD000000000000000000000000000002600730946E090E15A5780005\u{1}\
FD000000000000000000000000000002600730946E090E159D840000\u{1}15\u{1}true\u{1}k0\u{1}0\u{1}1796319499655\u{1}\
probe_c\u{2}";
const PUB: &str = "Pub\u{1}1700000000123\u{1}DefaultRegion\u{1}pg\u{1}TopicTest\u{1}\
7F0000017A2A18B4AAC2611D6E9C0000\u{1}TagA\u{1}order-1 order-2\u{1}10.0.0.5:10911\u{1}11\u{1}7\u{1}3\u{1}\
0A00000500002A9F0000000000000AB2\u{1}false\u{2}";
const SUB_AFTER_CLOUD: &str =
    "SubAfter\u{1}0A0000050000ABCD\u{1}7F0000017A2A18B4AAC2611D6E9C0000\u{1}12\u{1}\
false\u{1}order-1 order-2\u{1}3\u{1}\u{2}";
const END_TRANSACTION: &str =
    "EndTransaction\u{1}1700000000999\u{1}DefaultRegion\u{1}tg\u{1}TopicTest\u{1}\
7F0000017A2A18B4AAC2611D6E9C0000\u{1}TagA\u{1}order-1 order-2\u{1}10.0.0.5:10911\u{1}3\u{1}\
7F0000017A2A18B4AAC2611D6E9C0000\u{1}COMMIT_MESSAGE\u{1}true\u{2}";
const PUB_NULLS: &str = "Pub\u{1}1\u{1}r\u{1}g\u{1}T\u{1}AB\u{1}\u{1}\u{1}\
fd00:0000:0000:0000:0000:0000:0000:0002\u{1}0\u{1}0\u{1}0\u{1}\u{1}true\u{2}";

#[test]
fn decodes_a_producers_batch_of_pub_records() {
    let r = decode_trace_data(APACHE_PUB).unwrap();
    assert_eq!(r.len(), 2);
    let p = &r[0];
    assert_eq!(p.trace_type, TraceType::Pub);
    assert_eq!(p.timestamp, 1_796_319_497_605);
    assert_eq!(p.region_id, "DefaultRegion");
    assert_eq!(p.group_name, "probe_p");
    assert_eq!(p.topic, "ProbeTopic");
    assert_eq!(
        p.msg_id,
        "FD000000000000000000000000000002600730946E090E159D840000"
    );
    assert_eq!((p.tags.as_str(), p.keys.as_str()), ("TagT", "k0"));
    assert_eq!(p.store_host, "127.0.0.1:21011");
    assert_eq!((p.body_length, p.cost_time, p.msg_type), (2, 244, 0));
    assert_eq!(p.msg_type_name(), "Normal_Msg");
    assert_eq!(p.offset_msg_id, "7F000001000052130000000000000000");
    assert!(p.success);
    assert_eq!(r[1].cost_time, 12);
    // the encoder writes what it read, byte for byte
    assert_eq!(encode_trace_data(&r), APACHE_PUB);
}

#[test]
fn decodes_a_consumers_sub_before_and_sub_after() {
    let r = decode_trace_data(APACHE_SUB).unwrap();
    assert_eq!(r.len(), 2);
    let b = &r[0];
    assert_eq!(b.trace_type, TraceType::SubBefore);
    assert_eq!(
        (b.timestamp, b.group_name.as_str()),
        (1_796_319_499_638, "probe_c")
    );
    assert_eq!(
        b.request_id,
        "FD000000000000000000000000000002600730946E090E15A5760004"
    );
    assert_eq!(
        b.msg_id,
        "FD000000000000000000000000000002600730946E090E159E860002"
    );
    assert_eq!((b.retry_times, b.keys.as_str()), (0, "k1"));
    let a = &r[1];
    assert_eq!(a.trace_type, TraceType::SubAfter);
    assert_eq!(
        a.msg_id,
        "FD000000000000000000000000000002600730946E090E159D840000"
    );
    assert_eq!((a.cost_time, a.success, a.context_code), (15, true, 0));
    assert_eq!(
        (a.timestamp, a.group_name.as_str()),
        (1_796_319_499_655, "probe_c")
    );
    assert_eq!(encode_trace_data(&r), APACHE_SUB);
}

#[test]
fn decodes_failed_pub_cloud_sub_after_end_transaction_and_empty_fields() {
    let p = &decode_trace_data(PUB).unwrap()[0];
    assert!(!p.success);
    assert_eq!(p.msg_type_name(), "Delay_Msg");
    assert_eq!(p.keys, "order-1 order-2");
    assert_eq!(encode_trace_data(std::slice::from_ref(p)), PUB);

    let a = &decode_trace_data(SUB_AFTER_CLOUD).unwrap()[0];
    assert_eq!((a.cost_time, a.success, a.context_code), (12, false, 3));
    assert_eq!((a.timestamp, a.group_name.as_str()), (0, ""));

    let e = &decode_trace_data(END_TRANSACTION).unwrap()[0];
    assert_eq!(e.trace_type, TraceType::EndTransaction);
    assert_eq!(
        (e.group_name.as_str(), e.msg_type_name()),
        ("tg", "Delay_Msg".to_string())
    );
    assert_eq!(e.transaction_id, "7F0000017A2A18B4AAC2611D6E9C0000");
    assert_eq!(e.transaction_state, "COMMIT_MESSAGE");
    assert!(e.from_transaction_check);
    assert_eq!(encode_trace_data(std::slice::from_ref(e)), END_TRANSACTION);

    let n = &decode_trace_data(PUB_NULLS).unwrap()[0];
    assert_eq!(
        (n.tags.as_str(), n.keys.as_str(), n.offset_msg_id.as_str()),
        ("", "", "")
    );
    assert!(n.success);
}

#[test]
fn older_pub_forms_and_unknown_types() {
    // 13 fields (no offset message id) and 15 (with the client host)
    let old = "Pub\u{1}5\u{1}r\u{1}g\u{1}T\u{1}ID\u{1}t\u{1}k\u{1}h:1\u{1}3\u{1}4\u{1}0\u{1}false";
    let p = TraceRecord::decode(old).unwrap().unwrap();
    assert!(!p.success);
    assert_eq!(p.offset_msg_id, "");
    let newer = format!("{}\u{1}OFF\u{1}true\u{1}10.1.1.1", &old[..old.len() - 6]);
    let p = TraceRecord::decode(&newer).unwrap().unwrap();
    assert_eq!(
        (p.offset_msg_id.as_str(), p.client_host.as_str()),
        ("OFF", "10.1.1.1")
    );
    assert!(p.success);
    assert_eq!(TraceRecord::decode("Future\u{1}1").unwrap(), None);
    assert!(decode_trace_data("").unwrap().is_empty());
}

#[test]
fn malformed_records_are_errors_not_panics() {
    assert!(matches!(
        TraceRecord::decode("Pub\u{1}1\u{1}r"),
        Err(TraceDecodeError::TooFewFields { needed: 12, .. })
    ));
    let bad = "SubBefore\u{1}soon\u{1}r\u{1}g\u{1}q\u{1}ID\u{1}0\u{1}k";
    let e = TraceRecord::decode(bad).unwrap_err();
    assert!(e.to_string().contains("timestamp"), "{e}");
    assert!(decode_trace_data(&format!("{APACHE_PUB}{bad}\u{2}")).is_err());
}

#[test]
fn views_keep_only_the_asked_message_and_the_writers_address() {
    let mut m = MessageExt::default();
    m.message.body = APACHE_SUB.as_bytes().to_vec().into();
    m.born_host = "10.2.3.4:51000".parse().unwrap();
    m.store_timestamp = 42;
    let v = trace_views(
        "FD000000000000000000000000000002600730946E090E159D840000",
        &m,
    )
    .unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].record.trace_type, TraceType::SubAfter);
    assert_eq!(
        (v[0].client_host.as_str(), v[0].status()),
        ("10.2.3.4", "success")
    );
    assert_eq!(v[0].trace_store_timestamp, 42);
}

fn text() -> impl Strategy<Value = String> {
    // anything but the two separators
    "[^\u{1}\u{2}]{0,12}"
}

fn record() -> impl Strategy<Value = TraceRecord> {
    let types = prop_oneof![
        Just(TraceType::Pub),
        Just(TraceType::SubBefore),
        Just(TraceType::SubAfter),
        Just(TraceType::EndTransaction),
        Just(TraceType::Recall),
    ];
    (
        types,
        (0i64..=i64::MAX, any::<i32>(), any::<bool>(), 0i32..5),
        (text(), text(), text(), text(), text(), text(), text()),
        (text(), any::<i32>(), any::<i32>(), text(), any::<bool>()),
    )
        .prop_map(
            |(t, (ts, n, ok, code), (a, b, c, d, e, f, g), (h, len, retry, tx, check))| {
                let mut r = TraceRecord::new(t);
                r.timestamp = ts;
                r.region_id = a;
                r.group_name = b;
                r.topic = c;
                r.msg_id = d;
                r.tags = e;
                r.keys = f;
                r.store_host = g;
                r.offset_msg_id = h;
                r.request_id = tx.clone();
                r.body_length = len;
                r.cost_time = n;
                r.msg_type = code;
                r.retry_times = retry;
                r.success = ok;
                r.context_code = code;
                r.transaction_id = tx;
                r.transaction_state = "ROLLBACK_MESSAGE".into();
                r.from_transaction_check = check;
                r
            },
        )
}

/// The fields a record of its type carries; the others decode to their defaults.
fn carried(r: &TraceRecord) -> TraceRecord {
    let mut c = TraceRecord::new(r.trace_type);
    c.msg_id = r.msg_id.clone();
    match r.trace_type {
        TraceType::Pub => {
            c = TraceRecord {
                client_host: String::new(),
                request_id: String::new(),
                retry_times: 0,
                context_code: 0,
                transaction_id: String::new(),
                transaction_state: String::new(),
                from_transaction_check: false,
                ..r.clone()
            };
        }
        TraceType::SubBefore => {
            (c.timestamp, c.region_id, c.group_name) =
                (r.timestamp, r.region_id.clone(), r.group_name.clone());
            (c.request_id, c.retry_times, c.keys) =
                (r.request_id.clone(), r.retry_times, r.keys.clone());
        }
        TraceType::SubAfter => {
            (c.request_id, c.cost_time, c.success) = (r.request_id.clone(), r.cost_time, r.success);
            (c.keys, c.context_code) = (r.keys.clone(), r.context_code);
            (c.timestamp, c.group_name) = (r.timestamp, r.group_name.clone());
        }
        TraceType::EndTransaction => {
            (c.timestamp, c.region_id, c.group_name) =
                (r.timestamp, r.region_id.clone(), r.group_name.clone());
            (c.topic, c.tags, c.keys, c.store_host) = (
                r.topic.clone(),
                r.tags.clone(),
                r.keys.clone(),
                r.store_host.clone(),
            );
            (c.msg_type, c.transaction_id) = (r.msg_type, r.transaction_id.clone());
            (c.transaction_state, c.from_transaction_check) =
                (r.transaction_state.clone(), r.from_transaction_check);
        }
        TraceType::Recall => {
            (c.timestamp, c.region_id, c.group_name) =
                (r.timestamp, r.region_id.clone(), r.group_name.clone());
            (c.topic, c.success) = (r.topic.clone(), r.success);
        }
    }
    c
}

proptest! {
    #[test]
    fn records_round_trip(records in proptest::collection::vec(record(), 0..6)) {
        let data = encode_trace_data(&records);
        let decoded = decode_trace_data(&data).unwrap();
        let expected: Vec<TraceRecord> = records.iter().map(carried).collect();
        prop_assert_eq!(&decoded, &expected);
        prop_assert_eq!(encode_trace_data(&decoded), data);
    }

    #[test]
    fn arbitrary_text_never_panics(data in "[\u{1}\u{2}a-zA-Z0-9:]{0,200}") {
        let _ = decode_trace_data(&data);
    }
}
