//! Typed setters for properties-file keys: each key knows its field and how to parse a value.

/// One supported key of a config struct `T`.
pub struct ConfigKey<T: 'static> {
    /// The RocketMQ property name.
    pub name: &'static str,
    /// Parses `value` into the field, or explains what a valid value looks like.
    pub apply: fn(&mut T, &str) -> Result<(), String>,
}

/// Builds a `&[ConfigKey<T>]` from `"propertyName" => field: parser` entries (`a.b` reaches a
/// field of a nested settings struct).
macro_rules! config_keys {
    ($ty:ty; $($name:literal => $($field:ident).+ : $parse:expr),* $(,)?) => {
        &[$(
            $crate::config::keys::ConfigKey::<$ty> {
                name: $name,
                apply: |c: &mut $ty, v: &str| {
                    c.$($field).+ = ($parse)(v)?;
                    Ok(())
                },
            }
        ),*]
    };
}
pub(crate) use config_keys;

/// Looks `name` up in `keys`.
pub fn find<T>(keys: &'static [ConfigKey<T>], name: &str) -> Option<&'static ConfigKey<T>> {
    keys.iter().find(|k| k.name == name)
}

/// Any text.
pub fn text(v: &str) -> Result<String, String> {
    Ok(v.to_string())
}

/// Text that must not be empty (names, addresses).
pub fn non_empty(v: &str) -> Result<String, String> {
    if v.is_empty() {
        Err("expected a non-empty value".into())
    } else {
        Ok(v.to_string())
    }
}

/// Optional text: empty means unset.
pub fn optional(v: &str) -> Result<Option<String>, String> {
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// `true` or `false`, in any case.
pub fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// A decimal integer of type `T` (so its range is checked too).
pub fn integer<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse().map_err(|_| {
        format!(
            "expected an integer ({})",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("integer")
        )
    })
}

/// A decimal integer of type `T` that must be at least `min`.
pub fn at_least<T>(min: T) -> impl Fn(&str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    move |v| {
        let n: T = integer(v)?;
        if n < min {
            Err(format!("expected an integer of at least {min}"))
        } else {
            Ok(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Sample {
        name: String,
        count: u16,
        on: bool,
    }

    const KEYS: &[ConfigKey<Sample>] = config_keys!(Sample;
        "name" => name: non_empty,
        "count" => count: at_least(1u16),
        "on" => on: boolean,
    );

    #[test]
    fn setters_parse_and_explain() {
        let mut s = Sample::default();
        (find(KEYS, "name").unwrap().apply)(&mut s, "x").unwrap();
        (find(KEYS, "count").unwrap().apply)(&mut s, "7").unwrap();
        (find(KEYS, "on").unwrap().apply)(&mut s, "TRUE").unwrap();
        assert_eq!((s.name.as_str(), s.count, s.on), ("x", 7, true));
        let count = find(KEYS, "count").unwrap();
        assert_eq!(
            (count.apply)(&mut s, "70000").unwrap_err(),
            "expected an integer (u16)"
        );
        assert_eq!(
            (count.apply)(&mut s, "0").unwrap_err(),
            "expected an integer of at least 1"
        );
        assert!((find(KEYS, "on").unwrap().apply)(&mut s, "yes").is_err());
        assert!((find(KEYS, "name").unwrap().apply)(&mut s, "").is_err());
        assert!(find(KEYS, "nope").is_none());
    }
}
