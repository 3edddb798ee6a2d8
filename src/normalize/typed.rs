//! Lenient, borrowed field types for the typed record structs (CloudTrail's today).
//!
//! A typed struct reads only the fields the schema needs, straight from the record's bytes, and
//! skips the rest without building anything. Strings borrow from the input unless they hold
//! escapes. The types here accept whatever a provider actually writes in a field — a number where
//! a string was documented, an object where a string was expected — the way
//! [`super::fields::text`] does on a `serde_json::Value`, so moving a format to a typed struct
//! changes its speed and nothing else.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, value::MapAccessDeserializer, Deserialize, Deserializer, IgnoredAny};

/// Parses one `T` from the start of `rest`, which may hold more input after it: the value and
/// its length in bytes, or `None` when it does not parse.
pub(crate) fn parse_prefix<'a, T: Deserialize<'a>>(rest: &'a str) -> Option<(T, usize)> {
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<T>();
    let value = stream.next()?.ok()?;
    Some((value, stream.byte_offset()))
}

/// A field read as text: absent, present but not text (`null`, an object, an array), or text.
/// Numbers and booleans count as text, rendered as JSON writes them.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) enum Field<'a> {
    #[default]
    Missing,
    Other,
    Bool(bool),
    Text(Cow<'a, str>),
}

impl Field<'_> {
    /// The field's text, trimmed, when it is not empty.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Field::Text(text) => Some(text.trim()).filter(|text| !text.is_empty()),
            Field::Bool(true) => Some("true"),
            Field::Bool(false) => Some("false"),
            _ => None,
        }
    }

    /// A JSON boolean (not its spelling in a string), as `Value::as_bool` reads it.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Field::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    /// [`Field::as_str`], owned: what goes into a normalized record.
    pub(crate) fn text(&self) -> Option<String> {
        self.as_str().map(str::to_string)
    }

    /// Whether the key was there at all, whatever its value (`null` included).
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Field::Missing)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> de::Visitor<'de> for Visitor<'a> {
            type Value = Field<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Field::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                // The same rendering as `serde_json::Value`'s, which the Value-based mappers see.
                Ok(match serde_json::Number::from_f64(v) {
                    Some(number) => Field::Text(Cow::Owned(number.to_string())),
                    None => Field::Other,
                })
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
        }

        deserializer.deserialize_any(Visitor(PhantomData))
    }
}

/// An object read as `T`; any other value (`null`, a string, an array) reads as `None` instead
/// of failing the record, as a lookup into a `serde_json::Value` would.
#[derive(Debug)]
pub(crate) struct Object<T>(pub Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(AnyOf::<T, false>(PhantomData))
            .map(Object)
    }
}

/// The first element of an array, read as an object `T`; the rest of the array is skipped.
#[derive(Debug)]
pub(crate) struct FirstObject<T>(pub Option<T>);

impl<T> Default for FirstObject<T> {
    fn default() -> Self {
        FirstObject(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FirstObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(AnyOf::<T, true>(PhantomData))
            .map(FirstObject)
    }
}

/// Reads an object as `T` (or, with `FIRST`, the first object of an array) and anything else as
/// nothing.
struct AnyOf<T, const FIRST: bool>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const FIRST: bool> de::Visitor<'de> for AnyOf<T, FIRST> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        if FIRST {
            let mut map = map;
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(None);
        }
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = match FIRST {
            true => seq.next_element::<Object<T>>()?.and_then(|first| first.0),
            false => None,
        };
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first)
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Declares a typed record struct (`#[serde(default)]`, borrowed) with, after its own fields,
/// the keys by which a format tried before it claims a record first (the other clouds'
/// recognizers, `super::azure::OTHER_FORMATS`, and the marks of expanded cost rows), and
/// `other_format(&self)`: whether any of them is there, in which case the `Value` path judges
/// the record. One list for every typed Azure record.
macro_rules! typed_record {
    ($(#[$meta:meta])* $vis:vis struct $name:ident<'a> { $($fields:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(default)]
        $vis struct $name<'a> {
            $($fields)*
            #[serde(rename = "eventVersion", borrow)]
            other_event_version: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "eventSource", borrow)]
            other_event_source: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "CloudTrailEvent", borrow)]
            other_cloudtrail_event: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "digestStartTime", borrow)]
            other_digest_start_time: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "ResultsByTime", borrow)]
            other_results_by_time: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "protoPayload", borrow)]
            other_proto_payload: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "logName", borrow)]
            other_log_name: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "usage_start_time", borrow)]
            other_usage_start_time: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "Usage start date", borrow)]
            other_usage_start_date: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "ChargePeriodStart", borrow)]
            other_charge_period_start: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "BilledCost", borrow)]
            other_billed_cost: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "lineItem/UsageStartDate", borrow)]
            other_cur_start: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "line_item_usage_start_date", borrow)]
            other_cur2_start: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "_auditsweep_azure_cost_query_row", borrow)]
            other_cost_query_row: $crate::normalize::typed::Field<'a>,
            #[serde(rename = "_auditsweep_cost_explorer_unit", borrow)]
            other_cost_explorer_unit: $crate::normalize::typed::Field<'a>,
        }

        impl $name<'_> {
            fn other_format(&self) -> bool {
                [
                    &self.other_event_version,
                    &self.other_event_source,
                    &self.other_cloudtrail_event,
                    &self.other_digest_start_time,
                    &self.other_results_by_time,
                    &self.other_proto_payload,
                    &self.other_log_name,
                    &self.other_usage_start_time,
                    &self.other_usage_start_date,
                    &self.other_charge_period_start,
                    &self.other_billed_cost,
                    &self.other_cur_start,
                    &self.other_cur2_start,
                    &self.other_cost_query_row,
                    &self.other_cost_explorer_unit,
                ]
                .iter()
                .any(|field| field.is_present())
            }
        }
    };
}

pub(crate) use typed_record;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    struct Probe<'a> {
        #[serde(default, borrow)]
        a: Field<'a>,
        #[serde(default, borrow)]
        b: Object<Inner<'a>>,
        #[serde(default, borrow)]
        c: FirstObject<Inner<'a>>,
    }

    #[derive(Debug, Deserialize, Default)]
    struct Inner<'a> {
        #[serde(default, borrow)]
        x: Field<'a>,
    }

    fn probe(json: &str) -> Probe<'_> {
        serde_json::from_str(json).expect("lenient")
    }

    #[test]
    fn text_as_the_value_helpers_read_it() {
        assert_eq!(probe(r#"{"a":" v "}"#).a.as_str(), Some("v"));
        assert!(matches!(
            probe(r#"{"a":"v"}"#).a,
            Field::Text(Cow::Borrowed("v"))
        ));
        assert_eq!(probe(r#"{"a":"\u0041b"}"#).a.as_str(), Some("Ab"));
        assert_eq!(probe(r#"{"a":12}"#).a.as_str(), Some("12"));
        assert_eq!(probe(r#"{"a":1.5}"#).a.as_str(), Some("1.5"));
        assert_eq!(probe(r#"{"a":true}"#).a.as_str(), Some("true"));
        assert_eq!(probe(r#"{"a":true}"#).a.as_bool(), Some(true));
        assert_eq!(probe(r#"{"a":"true"}"#).a.as_bool(), None);
        for other in [
            r#"{"a":null}"#,
            r#"{"a":{"k":[1]}}"#,
            r#"{"a":[1,2]}"#,
            r#"{"a":"  "}"#,
        ] {
            let field = probe(other).a;
            assert_eq!(field.as_str(), None, "{other}");
            assert!(field.is_present(), "{other}");
        }
        assert!(!probe("{}").a.is_present());
    }

    #[test]
    fn objects_and_first_elements_never_fail_the_record() {
        assert_eq!(
            probe(r#"{"b":{"x":"1"}}"#).b.0.unwrap().x.as_str(),
            Some("1")
        );
        for other in [
            r#"{"b":"s"}"#,
            r#"{"b":[{"x":"1"}]}"#,
            r#"{"b":null}"#,
            r#"{"b":3}"#,
        ] {
            assert!(probe(other).b.0.is_none(), "{other}");
        }
        let first = probe(r#"{"c":[{"x":"1"},{"x":"2"},[3]]}"#).c.0.unwrap();
        assert_eq!(first.x.as_str(), Some("1"));
        for other in [
            r#"{"c":[]}"#,
            r#"{"c":["s",{"x":"1"}]}"#,
            r#"{"c":{"x":"1"}}"#,
        ] {
            assert!(probe(other).c.0.is_none(), "{other}");
        }
    }
}
