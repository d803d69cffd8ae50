//! Typed request and response headers (the `extFields` of each command).
