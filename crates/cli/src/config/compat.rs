//! RocketMQ keys Ferrocket has no setting for, but whose values it must still judge: every
//! Ferrocket broker is a single-replica master, so some values describe it and others cannot.

/// What to make of one such key.
pub enum Verdict {
    /// The value describes what Ferrocket does.
    Accepted,
    /// The value is accepted, with a caveat to log.
    Warn(String),
    /// The value asks for something Ferrocket cannot do, or does not parse.
    Reject(String),
}

/// The verdict on `key=value`, or `None` when `key` is not one of these keys.
pub fn check(key: &str, value: &str) -> Option<Verdict> {
    match key {
        "brokerRole" => Some(match value {
            "ASYNC_MASTER" => Verdict::Accepted,
            "SYNC_MASTER" => Verdict::Warn(
                "brokerRole SYNC_MASTER: Ferrocket has no slaves to wait for; it behaves as ASYNC_MASTER".into(),
            ),
            "SLAVE" => Verdict::Reject("Ferrocket brokers are masters; SLAVE is not supported".into()),
            _ => Verdict::Reject("expected ASYNC_MASTER, SYNC_MASTER or SLAVE".into()),
        }),
        _ => None,
    }
}
