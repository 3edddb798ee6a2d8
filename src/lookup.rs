//! Map lookups on the per-record path that allocate only when they insert.
//!
//! Every record is folded into maps keyed by text (an account, a lowercased principal, a /24, a
//! `provider/tenant`). Building each key as a `String` to look it up cost an allocation and a free
//! per key per record, about a tenth of a sweep; almost every lookup finds its key. Here keys are
//! built on the stack and owned only when they are new.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::{self, Write};

use crate::schema::Provider;

/// The longest key built on the stack; a longer one is built on the heap (same result).
const STACK: usize = 192;

/// A short string built in place, spilling to the heap past [`STACK`] bytes.
pub struct KeyBuf {
    stack: [u8; STACK],
    len: usize,
    heap: Option<String>,
}

impl KeyBuf {
    pub fn new() -> Self {
        KeyBuf {
            stack: [0; STACK],
            len: 0,
            heap: None,
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.heap {
            Some(heap) => heap,
            // Only whole `&str`s are ever copied in, so the bytes are UTF-8.
            None => std::str::from_utf8(&self.stack[..self.len]).unwrap_or_default(),
        }
    }

    pub fn push_str(&mut self, text: &str) {
        self.push_with(text, |_| {});
    }

    /// Appends `text` with its ASCII letters lowercased (as `str::to_ascii_lowercase`).
    pub fn push_lowercase(&mut self, text: &str) {
        self.push_with(text, |bytes| bytes.make_ascii_lowercase());
    }

    fn push_with(&mut self, text: &str, change: impl FnOnce(&mut [u8])) {
        if let Some(heap) = &mut self.heap {
            let mut bytes = std::mem::take(heap).into_bytes();
            let start = bytes.len();
            bytes.extend_from_slice(text.as_bytes());
            change(&mut bytes[start..]);
            // An ASCII case change keeps UTF-8 valid.
            *heap = String::from_utf8(bytes).unwrap_or_default();
            return;
        }
        let end = self.len + text.len();
        if end > STACK {
            let mut heap = String::with_capacity(end);
            heap.push_str(self.as_str());
            self.heap = Some(heap);
            return self.push_with(text, change);
        }
        self.stack[self.len..end].copy_from_slice(text.as_bytes());
        change(&mut self.stack[self.len..end]);
        self.len = end;
    }
}

impl Default for KeyBuf {
    fn default() -> Self {
        KeyBuf::new()
    }
}

impl Write for KeyBuf {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

/// `format!` on the stack: calls `f` with the formatted text.
pub fn with_formatted<R>(args: fmt::Arguments, f: impl FnOnce(&str) -> R) -> R {
    let mut key = KeyBuf::new();
    // Writing into a KeyBuf never fails.
    let _ = key.write_fmt(args);
    f(key.as_str())
}

/// `map.entry(key.to_owned()).or_default()`, allocating the key only when it is new.
pub fn entry<'m, K, Q, V>(map: &'m mut BTreeMap<K, V>, key: &Q) -> &'m mut V
where
    K: Borrow<Q> + Ord,
    Q: ToOwned<Owned = K> + Ord + ?Sized,
    V: Default,
{
    // Two searches when the key is there (a get_mut that returns early does not pass the borrow
    // checker yet); both are cheaper than the allocation and free they replace.
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

/// A key made of a provider and a name (an account, a scope), seen through borrowed parts, so that
/// a map keyed by an owned pair can be searched without building one. Its order is the owned
/// keys' derived order: provider, then name.
pub trait ProviderKey {
    fn parts(&self) -> (&Provider, &str);
}

impl PartialEq for dyn ProviderKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn ProviderKey + '_ {}

impl PartialOrd for dyn ProviderKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn ProviderKey + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl ProviderKey for (&Provider, &str) {
    fn parts(&self) -> (&Provider, &str) {
        (self.0, self.1)
    }
}

impl ProviderKey for (Provider, String) {
    fn parts(&self) -> (&Provider, &str) {
        (&self.0, &self.1)
    }
}

impl<'a> Borrow<dyn ProviderKey + 'a> for (Provider, String) {
    fn borrow(&self) -> &(dyn ProviderKey + 'a) {
        self
    }
}

/// [`entry`] for a map keyed by a provider and a name; `owned` makes the key when it is new.
pub fn provider_entry<'m, K, V>(
    map: &'m mut BTreeMap<K, V>,
    provider: &Provider,
    name: &str,
    owned: impl FnOnce() -> K,
) -> &'m mut V
where
    K: Ord + for<'a> Borrow<dyn ProviderKey + 'a>,
    V: Default,
{
    let probe = (provider, name);
    let probe: &dyn ProviderKey = &probe;
    if !map.contains_key(probe) {
        map.insert(owned(), V::default());
    }
    map.get_mut(probe).expect("inserted above")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_is_to_ascii_lowercase_on_the_stack_and_past_it() {
        for text in ["", "Arn:AWS:iam::1:user/Ädmin", &"AbC".repeat(100)] {
            let mut key = KeyBuf::new();
            key.push_lowercase(text);
            key.push_lowercase("|X");
            assert_eq!(key.as_str(), format!("{}|x", text.to_ascii_lowercase()));
        }
    }

    #[test]
    fn formatted_is_format_on_the_stack_and_past_it() {
        with_formatted(format_args!("{}.{}.0/24", 10, 2), |key| {
            assert_eq!(key, "10.2.0/24")
        });
        let long = "p".repeat(500);
        with_formatted(format_args!("hosting:{long}"), |key| {
            assert_eq!(key, format!("hosting:{long}"))
        });
    }

    #[test]
    fn a_provider_key_orders_as_the_owned_pair() {
        let mut map: BTreeMap<(Provider, String), u32> = BTreeMap::new();
        let names = ["b", "a", "", "c", "a"];
        let providers = [Provider::Gcp, Provider::Aws, Provider::Other("x".into())];
        for provider in &providers {
            for name in names {
                *provider_entry(&mut map, provider, name, || {
                    (provider.clone(), name.to_string())
                }) += 1;
            }
        }
        let mut expected: BTreeMap<(Provider, String), u32> = BTreeMap::new();
        for provider in &providers {
            for name in names {
                *expected
                    .entry((provider.clone(), name.to_string()))
                    .or_default() += 1;
            }
        }
        assert_eq!(map, expected);
        assert_eq!(map.len(), 12);
    }

    #[test]
    fn entry_inserts_once_and_finds_after() {
        let mut map: BTreeMap<String, u32> = BTreeMap::new();
        *entry(&mut map, "a") += 1;
        *entry(&mut map, "a") += 1;
        *entry(&mut map, "b") += 1;
        assert_eq!(map, BTreeMap::from([("a".into(), 2), ("b".into(), 1)]));
    }
}
