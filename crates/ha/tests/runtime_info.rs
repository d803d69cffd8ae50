//! The figures `mqadmin haStatus` shows, measured by the HA threads of a live master and slave:
//! per-second transfer rates on both sides, where the next frame starts, the slave's last read
//! and report.

use std::time::{Duration, Instant};

use ferrocket_store::{BrokerRole, PutMessageStatus};

mod common;
use common::*;

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_rates_follow_the_load_and_fall_back_when_idle() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = Node::start(md.path(), BrokerRole::AsyncMaster);
    let slave = Node::start(sd.path(), BrokerRole::Slave);
    // nothing measured before the slave ever connected
    let idle = slave.ha.client_runtime_info();
    assert_eq!(
        (idle.last_read_timestamp, idle.transferred_byte_in_second),
        (0, 0)
    );
    slave.follow(&master);
    wait_until("slave connected", Duration::from_secs(10), || {
        master.ha.connection_count() == 1
    });

    // under load both sides count well above the heartbeats (12 bytes every 200 ms here)
    let (mut sent, mut received) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 0;
    while (sent <= 4096 || received <= 4096) && Instant::now() < deadline {
        for _ in 0..20 {
            let r = master.store.put_message(msg(i)).await;
            assert_eq!(r.status, PutMessageStatus::PutOk);
            i += 1;
        }
        sent = sent.max(master.ha.connection_runtime_info()[0].transferred_byte_in_second);
        received = received.max(slave.ha.client_runtime_info().transferred_byte_in_second);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        sent > 4096 && received > 4096,
        "sent {sent} B/s, received {received} B/s"
    );

    // caught up: the next frame starts at the end, the slave read and reported just now
    let end = master.store.get_max_phy_offset();
    wait_until("caught up", Duration::from_secs(20), || {
        let c = &master.ha.connection_runtime_info()[0];
        c.slave_ack_offset == end && c.transfer_from_where == end
    });
    let c = &master.ha.connection_runtime_info()[0];
    let client = slave.ha.client_runtime_info();
    let now = now_millis();
    for t in [
        c.last_read_timestamp,
        c.last_write_timestamp,
        client.last_read_timestamp,
        client.last_write_timestamp,
    ] {
        assert!(
            now - t < 5_000 && t <= now + 1,
            "{t} vs now {now}: {c:?} {client:?}"
        );
    }
    assert_eq!(client.master_address, Some(master.addr.to_string()));

    // idle: only heartbeats (about 60 bytes a second) move
    wait_until("idle rates", Duration::from_secs(10), || {
        master.ha.connection_runtime_info()[0].transferred_byte_in_second <= 100
            && slave.ha.client_runtime_info().transferred_byte_in_second <= 100
    });

    // the master goes away: the slave's last read is cleared, as RocketMQ's HAClient does
    master.stop();
    wait_until("disconnected", Duration::from_secs(10), || {
        slave.ha.client_runtime_info().last_read_timestamp == 0
    });
    slave.stop();
}
