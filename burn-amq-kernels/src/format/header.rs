//! The JSON header: metadata and the tensor table (serde schema).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The whole JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    /// Free-form string metadata (model kind, layer config, vocabulary size, ...).
    #[serde(deserialize_with = "unique_keys")]
    pub metadata: BTreeMap<String, String>,
    /// The tensors, in file order.
    pub tensors: Vec<TensorEntry>,
}

/// One tensor of the header table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum TensorEntry {
    /// Row-major bit planes: α `[row][plane]` f32, planes `[row][plane][word]` u64.
    BitPlanes {
        name: String,
        rows: u64,
        n: u64,
        bits: u64,
        alphas: Segment,
        planes: Segment,
    },
    /// A row-major f32 tensor.
    F32 {
        name: String,
        shape: Vec<u64>,
        data: Segment,
    },
}

impl TensorEntry {
    pub fn name(&self) -> &str {
        match self {
            TensorEntry::BitPlanes { name, .. } | TensorEntry::F32 { name, .. } => name,
        }
    }
}

/// A byte range of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Segment {
    /// Offset from the start of the payload (a multiple of 8).
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Deserializes a string map, rejecting repeated keys (serde_json would keep the last one).
fn unique_keys<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct UniqueMap;
    impl<'de> Visitor<'de> for UniqueMap {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of strings to strings")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, String>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!(
                        "duplicate metadata key {k:?}"
                    )));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(UniqueMap)
}
