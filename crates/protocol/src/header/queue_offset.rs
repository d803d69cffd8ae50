//! Queue offset lookups: GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29)
//! and GET_EARLIEST_MSG_STORETIME (32).

use super::command_custom_header::command_header;

command_header! {
    /// `GetMaxOffsetRequestHeader`.
    pub struct GetMaxOffsetRequestHeader {
        /// Topic.
        topic: String = "topic",
        /// Queue.
        queue_id: i32 = "queueId",
        /// Only count committed (dispatched) messages; Java's default is true.
        committed: bool = "committed" or true,
    }
}

command_header! {
    /// `GetMaxOffsetResponseHeader`.
    pub struct GetMaxOffsetResponseHeader {
        /// The next offset to be written.
        offset: i64 = "offset",
    }
}

command_header! {
    /// `GetMinOffsetRequestHeader`.
    pub struct GetMinOffsetRequestHeader {
        /// Topic.
        topic: String = "topic",
        /// Queue.
        queue_id: i32 = "queueId",
    }
}

command_header! {
    /// `GetMinOffsetResponseHeader`.
    pub struct GetMinOffsetResponseHeader {
        /// The first offset still stored.
        offset: i64 = "offset",
    }
}

/// `BoundaryType`: which offset a timestamp search returns when several messages match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundaryType {
    /// The first matching offset.
    #[default]
    Lower,
    /// The last matching offset.
    Upper,
}

impl BoundaryType {
    /// Reads `LOWER`/`UPPER` in any case, or the ordinal `1` for `UPPER`; anything else (or
    /// nothing) is `Lower`, as in Java.
    pub fn parse(raw: Option<&str>) -> BoundaryType {
        match raw.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("upper") || v == "1" => BoundaryType::Upper,
            _ => BoundaryType::Lower,
        }
    }

    /// The Java enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundaryType::Lower => "LOWER",
            BoundaryType::Upper => "UPPER",
        }
    }
}

command_header! {
    /// `SearchOffsetRequestHeader`.
    pub struct SearchOffsetRequestHeader {
        /// Topic.
        topic: String = "topic",
        /// Queue.
        queue_id: i32 = "queueId",
        /// Store timestamp to look for, ms.
        timestamp: i64 = "timestamp",
        /// `LOWER` or `UPPER` (any case); read it with [`BoundaryType::parse`].
        boundary_type: Option<String> = "boundaryType",
    }
}

command_header! {
    /// `SearchOffsetResponseHeader`.
    pub struct SearchOffsetResponseHeader {
        /// The offset found.
        offset: i64 = "offset",
    }
}

command_header! {
    /// `GetEarliestMsgStoretimeRequestHeader`.
    pub struct GetEarliestMsgStoretimeRequestHeader {
        /// Topic.
        topic: String = "topic",
        /// Queue.
        queue_id: i32 = "queueId",
    }
}

command_header! {
    /// `GetEarliestMsgStoretimeResponseHeader`.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        /// Store time of the queue's first message, ms (-1 when none).
        timestamp: i64 = "timestamp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CommandCustomHeader;
    use crate::RemotingCommand;

    #[test]
    fn committed_defaults_to_true() {
        let cmd = RemotingCommand::request(30)
            .with_ext("topic", "T")
            .with_ext("queueId", "0");
        assert!(GetMaxOffsetRequestHeader::decode(&cmd).unwrap().committed);
    }

    #[test]
    fn boundary_type_is_case_insensitive() {
        assert_eq!(BoundaryType::parse(Some("upper")), BoundaryType::Upper);
        assert_eq!(BoundaryType::parse(Some("UPPER")), BoundaryType::Upper);
        assert_eq!(BoundaryType::parse(Some("1")), BoundaryType::Upper);
        assert_eq!(BoundaryType::parse(Some("lower")), BoundaryType::Lower);
        assert_eq!(BoundaryType::parse(None), BoundaryType::Lower);
    }
}
