//! Whether a page's bytes are a whole document. A 200 whose body broke off (a proxy, a reset
//! connection with a matching length) must be retried, not handed to the readers as a short
//! file: the readers would count the lost records as skipped, and the cursor would move past
//! them.

use serde::de::{Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Checks that `bytes` (gzip by its magic bytes, or plain) hold exactly one whole JSON object,
/// and counts the elements of its array `records` (0 when the key is absent). A gzip member is
/// read to its trailer, so a cut object fails its length and CRC check.
pub fn whole_json(bytes: &[u8], records: &str) -> Result<u64, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut gzip = flate2::read::MultiGzDecoder::new(bytes);
        let count = count(serde_json::Deserializer::from_reader(&mut gzip), records)?;
        // Whatever follows the document inside the gzip stream is either whitespace (checked by
        // `end`) or nothing; reading on checks the trailer of the last member.
        std::io::copy(&mut gzip, &mut std::io::sink())
            .map_err(|err| format!("the gzip stream is not whole: {err}"))?;
        Ok(count)
    } else {
        count(serde_json::Deserializer::from_slice(bytes), records)
    }
}

fn count<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    records: &str,
) -> Result<u64, String> {
    let count = (&mut de)
        .deserialize_map(Count(records))
        .map_err(|err| format!("the page is not a whole JSON object: {err}"))?;
    de.end()
        .map_err(|err| format!("the page has more than one JSON document: {err}"))?;
    Ok(count)
}

/// Counts one key's array elements and skips everything else without keeping it.
struct Count<'a>(&'a str);

impl<'de> Visitor<'de> for Count<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut count = 0;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.0 {
                count = map.next_value::<Elements>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(count)
    }
}

/// The number of elements of an array (`null` counts none).
struct Elements(u64);

impl<'de> serde::Deserialize<'de> for Elements {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Elements, D::Error> {
        struct Seq;
        impl<'de> Visitor<'de> for Seq {
            type Value = Elements;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_unit<E>(self) -> Result<Elements, E> {
                Ok(Elements(0))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elements, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Elements(n))
            }
        }
        de.deserialize_any(Seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn whole_documents_are_counted_and_cut_ones_refused() {
        let text = r#"{"Records":[{"eventID":"a"},{"eventID":"b","x":[1,2]}],"n":{"Records":[1]}}"#;
        assert_eq!(whole_json(text.as_bytes(), "Records"), Ok(2));
        assert_eq!(whole_json(text.as_bytes(), "Events"), Ok(0));
        let packed = gzip(text);
        assert_eq!(whole_json(&packed, "Records"), Ok(2));
        assert!(whole_json(&text.as_bytes()[..text.len() - 1], "Records").is_err());
        // Cut inside the deflate data, and cut inside the trailer after the whole JSON.
        assert!(whole_json(&packed[..packed.len() / 2], "Records").is_err());
        assert!(whole_json(&packed[..packed.len() - 3], "Records").is_err());
        assert!(whole_json(b"{} {}", "Records").is_err());
        assert!(whole_json(b"[1]", "Records").is_err());
        assert_eq!(whole_json(br#"{"Records":null}"#, "Records"), Ok(0));
    }
}
