//! What a command prints: mqadmin's text, or JSON with `--json`; plus the formatting helpers
//! mqadmin's tables use.

use std::fmt::Write as _;

use ferrocket_protocol::util::{civil_from_days, days_from_civil};

/// A command's result: the text mqadmin would print and the same facts as JSON.
pub struct Report {
    /// mqadmin-style output.
    pub text: String,
    /// Machine-readable output.
    pub json: serde_json::Value,
}

impl Report {
    /// A report from its two renderings.
    pub fn new(text: String, json: serde_json::Value) -> Report {
        Report { text, json }
    }

    /// Writes the report to standard output.
    pub fn print(self, json: bool) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string_pretty(&self.json)?);
        } else {
            print!("{}", self.text);
        }
        Ok(())
    }
}

/// Appends one formatted line.
macro_rules! line {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}
pub(crate) use line;

/// `UtilAll.frontStringAtLeast`: the first `n` characters.
pub fn front(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `yyyy-MM-dd HH:mm:ss,SSS` in UTC (`UtilAll.timeMillisToHumanString2`).
pub fn human_millis(millis: i64) -> String {
    let (date, secs) = split_millis(millis);
    format!(
        "{date} {:02}:{:02}:{:02},{:03}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        millis.rem_euclid(1000)
    )
}

/// `yyyy-MM-dd HH:mm:ss` in UTC (`UtilAll.YYYY_MM_DD_HH_MM_SS`).
pub fn human_seconds(millis: i64) -> String {
    let (date, secs) = split_millis(millis);
    format!(
        "{date} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn split_millis(millis: i64) -> (String, i64) {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (format!("{y:04}-{m:02}-{d:02}"), secs.rem_euclid(86_400))
}

/// Parses mqadmin's timestamp argument: `now`, milliseconds, or `yyyy-MM-dd#HH:mm:ss:SSS`
/// (read as UTC).
pub fn parse_timestamp(s: &str, now: i64) -> anyhow::Result<i64> {
    let s = s.trim();
    if s == "now" {
        return Ok(now);
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let bad =
        || anyhow::anyhow!("timestamp '{s}' is not now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS");
    let (date, time) = s.split_once('#').ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || t.len() != 4 {
        return Err(bad());
    }
    let n = |v: &str| v.parse::<i64>().map_err(|_| bad());
    let days = days_from_civil(n(d[0])?, n(d[1])? as u32, n(d[2])? as u32);
    Ok(((days * 24 + n(t[0])?) * 60 + n(t[1])?) * 60_000 + n(t[2])? * 1000 + n(t[3])?)
}

/// `MQVersion.getVersionDesc`: the enum name of a version ordinal.
pub fn version_desc(ordinal: i32) -> &'static str {
    const NAMES: &str = include_str!("mq_versions.txt");
    usize::try_from(ordinal)
        .ok()
        .and_then(|i| NAMES.lines().nth(i))
        .unwrap_or("HIGHER_VERSION")
}

/// `PermName.perm2String`: `RWX` flags, `-` for a missing one.
pub fn perm_to_string(perm: i32) -> String {
    let mut s = String::new();
    s.push(if perm & 4 != 0 { 'R' } else { '-' });
    s.push(if perm & 2 != 0 { 'W' } else { '-' });
    s.push(if perm & 1 != 0 { 'X' } else { '-' });
    s
}

/// Java's `Map.toString()` of string pairs: `{a=1, b=2}`.
pub fn java_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{k}={v}");
    }
    s.push('}');
    s
}

pub use ferrocket_protocol::util::now_millis;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_like_util_all() {
        assert_eq!(human_millis(0), "1970-01-01 00:00:00,000");
        assert_eq!(human_millis(1_700_000_000_123), "2023-11-14 22:13:20,123");
        assert_eq!(human_seconds(1_700_000_000_123), "2023-11-14 22:13:20");
    }

    #[test]
    fn timestamps_parse_in_every_mqadmin_form() {
        assert_eq!(parse_timestamp("now", 42).unwrap(), 42);
        assert_eq!(
            parse_timestamp("1700000000123", 0).unwrap(),
            1_700_000_000_123
        );
        assert_eq!(
            parse_timestamp("2023-11-14#22:13:20:123", 0).unwrap(),
            1_700_000_000_123
        );
        assert!(parse_timestamp("yesterday", 0).is_err());
    }

    #[test]
    fn versions_and_perms_use_java_names() {
        assert_eq!(version_desc(479), "V5_3_3");
        assert_eq!(version_desc(409), "V4_9_8");
        assert_eq!(version_desc(100_000), "HIGHER_VERSION");
        assert_eq!(perm_to_string(6), "RW-");
        assert_eq!(perm_to_string(4), "R--");
        assert_eq!(front("abcdef", 3), "abc");
    }
}
