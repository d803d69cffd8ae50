//! `LanguageCode`: which client library sent a command.

/// RocketMQ's `LanguageCode`, kept as the byte used by the binary header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LanguageCode(pub u8);

const NAMES: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP",
    "OMS", "RUST", "NODE_JS",
];

impl LanguageCode {
    /// Java: what Ferrocket's responses claim, since older clients do not know RUST.
    pub const JAVA: LanguageCode = LanguageCode(0);
    /// Go (rocketmq-client-go).
    pub const GO: LanguageCode = LanguageCode(9);
    /// Rust.
    pub const RUST: LanguageCode = LanguageCode(12);
    /// Unknown or unnamed language.
    pub const OTHER: LanguageCode = LanguageCode(7);

    /// The enum name as fastjson writes it (`"JAVA"`, `"GO"`, ...).
    pub fn name(self) -> &'static str {
        NAMES.get(self.0 as usize).copied().unwrap_or("OTHER")
    }

    /// Parses an enum name; unknown names become `OTHER` rather than an error, as fastjson does.
    pub fn from_name(name: &str) -> LanguageCode {
        NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| LanguageCode(i as u8))
            .unwrap_or(LanguageCode::OTHER)
    }
}

impl std::fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for i in 0..14u8 {
            assert_eq!(
                LanguageCode::from_name(LanguageCode(i).name()),
                LanguageCode(i)
            );
        }
        assert_eq!(LanguageCode::from_name("go"), LanguageCode::GO);
        assert_eq!(LanguageCode::from_name("COBOL"), LanguageCode::OTHER);
    }
}
