//! A deserializer over a parsed [`Value`] that coerces the way fastjson does.
//!
//! fastjson (and the C++ client's jsoncpp output, which follows Java's field types loosely) sends
//! an enum by name or by ordinal, a number as a string, a string as a number, a boolean as `1`/`0`
//! or `"true"`, and `null` for a field that has a default. Serde's derive asks the deserializer for
//! the type each field wants (`deserialize_i64`, `deserialize_enum` with the variant names, ...),
//! so coercing here makes every derived struct lenient without per-field attributes.
//!
//! Unknown fields are ignored by every derived body (none uses `deny_unknown_fields`).

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Error, Map, Number, Value};

/// Wraps a value so that reading it into a typed struct coerces like fastjson.
pub struct Lenient(pub Value);

fn invalid(value: &Value, expected: &str) -> Error {
    de::Error::custom(format_args!("expected {expected}, found {value}"))
}

/// An integer from a number (fractions truncated, as `Number.longValue()`), a numeric string,
/// a boolean, or `null`/`""` (the primitive default).
fn as_i128(value: &Value) -> Result<i128, Error> {
    match value {
        Value::Number(n) => number_to_i128(n).ok_or_else(|| invalid(value, "an integer")),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t == "null" {
                return Ok(0);
            }
            t.parse::<i128>()
                .ok()
                .or_else(|| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(|f| f as i128)
                })
                .ok_or_else(|| invalid(value, "an integer"))
        }
        Value::Bool(b) => Ok(i128::from(*b)),
        Value::Null => Ok(0),
        _ => Err(invalid(value, "an integer")),
    }
}

fn number_to_i128(n: &Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        Some(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Some(i128::from(u))
    } else {
        n.as_f64().filter(|f| f.is_finite()).map(|f| f as i128)
    }
}

fn as_f64(value: &Value) -> Result<f64, Error> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| invalid(value, "a number")),
        Value::String(s) if s.trim().is_empty() => Ok(0.0),
        Value::String(s) => s.trim().parse().map_err(|_| invalid(value, "a number")),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::Null => Ok(0.0),
        _ => Err(invalid(value, "a number")),
    }
}

/// fastjson's `TypeUtils.castToBoolean`.
fn as_bool(value: &Value) -> Result<bool, Error> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(number_to_i128(n) == Some(1)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "y" | "t" => Ok(true),
            "false" | "0" | "n" | "f" | "" | "null" => Ok(false),
            _ => Err(invalid(value, "a boolean")),
        },
        Value::Null => Ok(false),
        _ => Err(invalid(value, "a boolean")),
    }
}

macro_rules! integer {
    ($($method:ident => $visit:ident: $t:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let wide = as_i128(&self.0)?;
            let n = <$t>::try_from(wide).map_err(|_| invalid(&self.0, stringify!($t)))?;
            visitor.$visit(n)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Lenient {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(map) => visitor.visit_map(LenientMap::new(map, false)),
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    integer! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bool(as_bool(&self.0)?)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f32(as_f64(&self.0)? as f32)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(as_f64(&self.0)?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    /// A number or boolean where text is wanted reads as its JSON text (`7` → `"7"`).
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_string(s),
            Value::Number(n) => visitor.visit_string(n.to_string()),
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            other => de::Deserializer::deserialize_string(other, visitor),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_bytes(self.0, visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_byte_buf(self.0, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Lenient(other)),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_unit(self.0, visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_unit_struct(self.0, name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// `null` reads as an empty list, as a missing field would.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visit_array(items, visitor),
            Value::Null => visit_array(Vec::new(), visitor),
            other => Err(invalid(&other, "a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    /// `null` reads as an empty map, as a missing field would.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(LenientMap::new(map, false)),
            Value::Null => visitor.visit_map(LenientMap::new(Map::new(), false)),
            other => Err(invalid(&other, "an object")),
        }
    }

    /// A struct's `null` fields are left out, so that they take their defaults.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(LenientMap::new(map, true)),
            other => Err(invalid(&other, "an object")),
        }
    }

    /// A unit variant by name or by ordinal (a number or a numeric string).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let by_ordinal = |n: Option<i128>| {
            n.and_then(|n| usize::try_from(n).ok())
                .and_then(|i| variants.get(i).copied())
        };
        let variant = match &self.0 {
            Value::Number(n) => by_ordinal(number_to_i128(n))
                .ok_or_else(|| invalid(&self.0, &format!("an ordinal of {name}")))?,
            Value::String(s) => match by_ordinal(s.trim().parse::<i128>().ok()) {
                Some(v) => v,
                None => {
                    return visitor.visit_enum(s.trim().to_string().into_deserializer());
                }
            },
            _ => return de::Deserializer::deserialize_enum(self.0, name, variants, visitor),
        };
        visitor.visit_enum(variant.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

fn visit_array<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, Error> {
    let len = items.len();
    let mut seq = LenientSeq(items.into_iter());
    let out = visitor.visit_seq(&mut seq)?;
    if seq.0.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements"))
    }
}

struct LenientSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for LenientSeq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Lenient(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct LenientMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
    skip_nulls: bool,
}

impl LenientMap {
    fn new(map: Map<String, Value>, skip_nulls: bool) -> Self {
        LenientMap {
            entries: map.into_iter(),
            value: None,
            skip_nulls,
        }
    }
}

impl<'de> MapAccess<'de> for LenientMap {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for (key, value) in self.entries.by_ref() {
            if self.skip_nulls && value.is_null() {
                continue;
            }
            self.value = Some(value);
            return seed.deserialize(Lenient(Value::String(key))).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("value requested before its key"))?;
        seed.deserialize(Lenient(value))
    }
}
