//! `CommandCustomHeader`: a typed view of a command's `extFields`, and the macro that declares one.
//!
//! RocketMQ fills headers by reflection, keyed by the Java field name, with `String.valueOf` of
//! each non-null value. Here every header field names its wire key explicitly.

use crate::command::{ExtFields, RemotingCommand};
use crate::error::HeaderError;

/// A request or response header carried in `extFields`.
pub trait CommandCustomHeader: Sized {
    /// Reads the header from `cmd`'s ext fields; a missing required key or an unparsable value
    /// is an error naming the key.
    fn decode(cmd: &RemotingCommand) -> Result<Self, HeaderError>;

    /// Writes every present field into `ext` (absent optional fields are left out, as Java does).
    fn encode(&self, ext: &mut ExtFields);

    /// Copies the header into `cmd`'s ext fields.
    fn write_to(&self, cmd: &mut RemotingCommand) {
        self.encode(&mut cmd.ext_fields);
    }
}

/// One header field type: how it is read from and written to its string form.
pub trait HeaderField: Sized {
    /// Reads the field; `raw` is `None` when the key is absent.
    fn read(raw: Option<&str>, key: &'static str) -> Result<Self, HeaderError>;

    /// The string form, or `None` to leave the key out.
    fn write(&self) -> Option<String>;
}

fn invalid(key: &'static str, raw: &str) -> HeaderError {
    HeaderError::Invalid {
        field: key,
        value: raw.to_string(),
    }
}

impl HeaderField for String {
    fn read(raw: Option<&str>, key: &'static str) -> Result<Self, HeaderError> {
        raw.map(str::to_string).ok_or(HeaderError::Missing(key))
    }

    fn write(&self) -> Option<String> {
        Some(self.clone())
    }
}

/// Java `Boolean.parseBoolean`: only a case-insensitive "true" is true.
impl HeaderField for bool {
    fn read(raw: Option<&str>, key: &'static str) -> Result<Self, HeaderError> {
        raw.map(|v| v.trim().eq_ignore_ascii_case("true"))
            .ok_or(HeaderError::Missing(key))
    }

    fn write(&self) -> Option<String> {
        Some(self.to_string())
    }
}

macro_rules! number_field {
    ($($t:ty),*) => {$(
        impl HeaderField for $t {
            fn read(raw: Option<&str>, key: &'static str) -> Result<Self, HeaderError> {
                let raw = raw.ok_or(HeaderError::Missing(key))?;
                raw.trim().parse().map_err(|_| invalid(key, raw))
            }

            fn write(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}

number_field!(i32, i64);

/// An optional field: absent (or empty, which the binary header cannot tell apart) reads as `None`.
impl<T: HeaderField> HeaderField for Option<T> {
    fn read(raw: Option<&str>, key: &'static str) -> Result<Self, HeaderError> {
        match raw {
            None | Some("") => Ok(None),
            Some(v) => T::read(Some(v), key).map(Some),
        }
    }

    fn write(&self) -> Option<String> {
        self.as_ref().and_then(HeaderField::write)
    }
}

/// Declares a header struct whose fields map one-to-one to wire keys.
///
/// `field: Type = "wireKey"` reads a required field (missing is an error) unless `Type` is an
/// `Option`; `field: Type = "wireKey" or default_expr` reads a field that falls back to
/// `default_expr` when the key is absent or empty.
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $key:literal $(or $default:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
        }

        impl $crate::header::command_custom_header::CommandCustomHeader for $name {
            fn decode(
                cmd: &$crate::command::RemotingCommand,
            ) -> Result<Self, $crate::error::HeaderError> {
                Ok($name {
                    $(
                        $field: $crate::header::command_custom_header::command_header!(
                            @read cmd, $ty, $key $(, $default)?
                        ),
                    )*
                })
            }

            fn encode(&self, ext: &mut $crate::command::ExtFields) {
                $(
                    if let Some(v) =
                        $crate::header::command_custom_header::HeaderField::write(&self.$field)
                    {
                        ext.insert($key, v);
                    }
                )*
            }
        }
    };
    (@read $cmd:ident, $ty:ty, $key:literal) => {
        <$ty as $crate::header::command_custom_header::HeaderField>::read($cmd.ext($key), $key)?
    };
    (@read $cmd:ident, $ty:ty, $key:literal, $default:expr) => {
        <Option<$ty> as $crate::header::command_custom_header::HeaderField>::read(
            $cmd.ext($key),
            $key,
        )?
        .unwrap_or_else(|| $default)
    };
}

pub(crate) use command_header;

#[cfg(test)]
mod tests {
    use super::*;

    command_header! {
        /// A header exercising every field kind.
        pub struct SampleHeader {
            /// Required text.
            name: String = "name",
            /// Required number.
            count: i32 = "count",
            /// Optional number.
            limit: Option<i64> = "limit",
            /// Defaulted flag.
            enabled: bool = "enabled" or true,
        }
    }

    #[test]
    fn reads_required_optional_and_defaulted_fields() {
        let cmd = RemotingCommand::request(1)
            .with_ext("name", "x")
            .with_ext("count", " 7 ");
        let h = SampleHeader::decode(&cmd).unwrap();
        assert_eq!(
            h,
            SampleHeader {
                name: "x".into(),
                count: 7,
                limit: None,
                enabled: true
            }
        );
        let mut ext = ExtFields::new();
        h.encode(&mut ext);
        assert_eq!(ext.get("count"), Some("7"));
        assert_eq!(ext.get("enabled"), Some("true"));
        assert_eq!(ext.get("limit"), None);
    }

    #[test]
    fn names_the_missing_or_bad_key() {
        let cmd = RemotingCommand::request(1).with_ext("name", "x");
        assert_eq!(
            SampleHeader::decode(&cmd),
            Err(HeaderError::Missing("count"))
        );
        let cmd = cmd.with_ext("count", "1").with_ext("limit", "lots");
        assert_eq!(
            SampleHeader::decode(&cmd),
            Err(HeaderError::Invalid {
                field: "limit",
                value: "lots".into()
            })
        );
    }

    #[test]
    fn booleans_follow_java_parse_boolean() {
        for (raw, expect) in [("TRUE", true), ("false", false), ("yes", false)] {
            let cmd = RemotingCommand::request(1)
                .with_ext("name", "x")
                .with_ext("count", "1")
                .with_ext("enabled", raw);
            assert_eq!(SampleHeader::decode(&cmd).unwrap().enabled, expect);
        }
    }
}
