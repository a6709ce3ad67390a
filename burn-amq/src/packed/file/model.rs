//! [`PackedModel`]: named packed layers plus user metadata, saved as one file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use burn_amq_kernels::format::PackedFile;

use super::KIND_MODEL;
use super::codec::{LayerCodec, read_kind, write_layer};
use super::meta::{LayerReader, LayerWriter, check_all_used, check_header, required, with_header};
use crate::error::{Error, Result};
use crate::packed::{PackedEmbedding, PackedGru, PackedLinear, PackedLstm};

/// Metadata key of the ordered layer names.
const LAYERS_KEY: &str = "layers";
/// Separator of the layer names in [`LAYERS_KEY`].
const LAYER_SEPARATOR: char = ',';
/// Namespace of user metadata (`user.<key>`); no layer may take this name.
const USER: &str = "user";

/// The four packed layer types (the `type` key of the [file layout](super)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// [`PackedLinear`].
    Linear,
    /// [`PackedEmbedding`].
    Embedding,
    /// [`PackedLstm`].
    Lstm,
    /// [`PackedGru`].
    Gru,
}

impl LayerKind {
    /// Every kind.
    pub const ALL: [LayerKind; 4] = [
        LayerKind::Linear,
        LayerKind::Embedding,
        LayerKind::Lstm,
        LayerKind::Gru,
    ];

    /// The name stored in files: `linear`, `embedding`, `lstm` or `gru`.
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Linear => "linear",
            LayerKind::Embedding => "embedding",
            LayerKind::Lstm => "lstm",
            LayerKind::Gru => "gru",
        }
    }

    /// The kind called `name` (exactly as [`Self::name`] writes it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One layer of a [`PackedModel`].
// The variants differ in size (a GRU holds three matrices, an embedding one table), but a
// model holds a handful of layers in a `Vec` and moves them rarely, so boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum PackedLayer {
    /// A packed linear layer.
    Linear(PackedLinear),
    /// A packed embedding table.
    Embedding(PackedEmbedding),
    /// A packed LSTM.
    Lstm(PackedLstm),
    /// A packed GRU.
    Gru(PackedGru),
}

impl PackedLayer {
    /// The layer's type.
    pub fn kind(&self) -> LayerKind {
        match self {
            PackedLayer::Linear(_) => LayerKind::Linear,
            PackedLayer::Embedding(_) => LayerKind::Embedding,
            PackedLayer::Lstm(_) => LayerKind::Lstm,
            PackedLayer::Gru(_) => LayerKind::Gru,
        }
    }
}

mod sealed {
    /// Only the four packed layer types are [`TypedLayer`](super::TypedLayer)s.
    pub trait Sealed {}
}

/// A packed layer type stored in a [`PackedLayer`] variant: the type parameter of
/// [`PackedModel::get`], [`PackedModel::get_mut`] and [`PackedModel::take`]. Implemented by
/// [`PackedLinear`], [`PackedEmbedding`], [`PackedLstm`] and [`PackedGru`] only.
pub trait TypedLayer: sealed::Sealed + Into<PackedLayer> + Sized {
    /// The variant holding this type.
    const KIND: LayerKind;
    /// The layer when `layer` is this variant; `None` (dropping `layer`) otherwise, so check
    /// [`PackedLayer::kind`] first to keep a layer of another type.
    fn from_layer(layer: PackedLayer) -> Option<Self>;
    /// The layer when `layer` is this variant.
    fn from_layer_ref(layer: &PackedLayer) -> Option<&Self>;
    /// The layer when `layer` is this variant.
    fn from_layer_mut(layer: &mut PackedLayer) -> Option<&mut Self>;
}

macro_rules! typed_layer {
    ($layer:ident, $variant:ident) => {
        impl sealed::Sealed for $layer {}

        impl TypedLayer for $layer {
            const KIND: LayerKind = LayerKind::$variant;

            fn from_layer(layer: PackedLayer) -> Option<Self> {
                match layer {
                    PackedLayer::$variant(l) => Some(l),
                    _ => None,
                }
            }

            fn from_layer_ref(layer: &PackedLayer) -> Option<&Self> {
                match layer {
                    PackedLayer::$variant(l) => Some(l),
                    _ => None,
                }
            }

            fn from_layer_mut(layer: &mut PackedLayer) -> Option<&mut Self> {
                match layer {
                    PackedLayer::$variant(l) => Some(l),
                    _ => None,
                }
            }
        }

        impl From<$layer> for PackedLayer {
            fn from(layer: $layer) -> Self {
                PackedLayer::$variant(layer)
            }
        }
    };
}

typed_layer!(PackedLinear, Linear);
typed_layer!(PackedEmbedding, Embedding);
typed_layer!(PackedLstm, Lstm);
typed_layer!(PackedGru, Gru);

/// Checks a layer name: non-empty, ASCII letters, digits, `_` and `-` only (it prefixes
/// tensor names and metadata keys with a `.`, and the names are stored comma-separated), and
/// not the user-metadata namespace.
fn check_layer_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "the name is empty"
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        "only ASCII letters, digits, '_' and '-' are allowed"
    } else if name == USER {
        "\"user\" is reserved for the user metadata"
    } else {
        return Ok(());
    };
    Err(Error::InvalidLayerName {
        layer: name.to_owned(),
        reason,
    })
}

/// Packed layers under unique names, in insertion order, plus user string metadata: a whole
/// packed model in one checksummed file (layout in the [module docs](super)).
///
/// A model struct of the user's is saved by inserting its layers and rebuilt by taking them
/// back by name and type:
///
/// ```
/// use burn::prelude::*;
/// use burn_amq::nn::{QuantEmbeddingConfig, QuantLinearConfig, QuantLstmConfig};
/// use burn_amq::packed::{PackedEmbedding, PackedLinear, PackedLstm, PackedModel};
///
/// /// A packed LSTM language model.
/// struct PackedLm {
///     embedding: PackedEmbedding,
///     lstm: PackedLstm,
///     decoder: PackedLinear,
/// }
///
/// impl PackedLm {
///     fn to_model(&self) -> burn_amq::Result<PackedModel> {
///         let mut model = PackedModel::new();
///         model.insert_meta("model", "lstm_lm");
///         model.insert_meta("vocab_size", self.embedding.n_embedding().to_string());
///         model.insert("embedding", self.embedding.clone())?;
///         model.insert("lstm", self.lstm.clone())?;
///         model.insert("decoder", self.decoder.clone())?;
///         Ok(model)
///     }
///
///     fn from_model(mut model: PackedModel) -> burn_amq::Result<Self> {
///         Ok(Self {
///             embedding: model.take("embedding")?,
///             lstm: model.take("lstm")?,
///             decoder: model.take("decoder")?,
///         })
///     }
/// }
///
/// let device = Device::flex();
/// let (vocab, d, h) = (10, 4, 3);
/// let lm = PackedLm {
///     embedding: QuantEmbeddingConfig::new(vocab, d)
///         .with_weight_bits(Some(2))
///         .init(&device)?
///         .pack()?,
///     lstm: QuantLstmConfig::new(d, h, true)
///         .with_weight_bits(Some(2))
///         .with_act_bits(Some(2))
///         .init(&device)?
///         .pack()?,
///     decoder: QuantLinearConfig::new(h, vocab)
///         .with_weight_bits(Some(2))
///         .init(&device)?
///         .pack()?,
/// };
///
/// let bytes = lm.to_model()?.to_bytes()?;
/// let loaded = PackedModel::from_bytes(&bytes)?;
/// assert_eq!(loaded.meta("model"), Some("lstm_lm"));
/// assert_eq!(loaded.parse_meta::<usize>("vocab_size")?, vocab);
/// let rebuilt = PackedLm::from_model(loaded)?;
/// assert_eq!(rebuilt.decoder.dequantized_weight(), lm.decoder.dequantized_weight());
/// # Ok::<(), burn_amq::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct PackedModel {
    layers: Vec<(String, PackedLayer)>,
    metadata: BTreeMap<String, String>,
}

impl PackedModel {
    /// An empty model: no layers, no metadata.
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|(n, _)| n == name)
    }

    fn index(&self, name: &str) -> Result<usize> {
        self.position(name).ok_or_else(|| Error::LayerNotFound {
            layer: name.to_owned(),
        })
    }

    /// Fails unless `name` is a valid layer name not yet taken.
    fn check_new_name(&self, name: &str) -> Result<()> {
        check_layer_name(name)?;
        if self.position(name).is_some() {
            return Err(Error::DuplicateLayer {
                layer: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Appends `layer` under `name`.
    ///
    /// Errors: [`Error::InvalidLayerName`] (names are non-empty ASCII letters, digits, `_` and
    /// `-`, and not `user`), [`Error::DuplicateLayer`].
    pub fn insert(&mut self, name: impl Into<String>, layer: impl Into<PackedLayer>) -> Result<()> {
        let name = name.into();
        self.check_new_name(&name)?;
        self.layers.push((name, layer.into()));
        Ok(())
    }

    /// The layer called `name`, of any type ([`Error::LayerNotFound`] if absent).
    pub fn layer(&self, name: &str) -> Result<&PackedLayer> {
        let i = self.index(name)?;
        Ok(&self.layers[i].1)
    }

    /// The layer called `name`, of any type, mutably (packed layers need `&mut` to run).
    pub fn layer_mut(&mut self, name: &str) -> Result<&mut PackedLayer> {
        let i = self.index(name)?;
        Ok(&mut self.layers[i].1)
    }

    /// Removes and returns the layer called `name`, of any type.
    pub fn remove(&mut self, name: &str) -> Result<PackedLayer> {
        let i = self.index(name)?;
        Ok(self.layers.remove(i).1)
    }

    fn wrong_kind<L: TypedLayer>(name: &str, found: LayerKind) -> Error {
        Error::WrongLayerKind {
            layer: name.to_owned(),
            expected: L::KIND,
            found,
        }
    }

    /// The layer called `name` as type `L`, e.g. `model.get::<PackedLinear>("decoder")`.
    ///
    /// Errors: [`Error::LayerNotFound`], [`Error::WrongLayerKind`].
    pub fn get<L: TypedLayer>(&self, name: &str) -> Result<&L> {
        let layer = self.layer(name)?;
        L::from_layer_ref(layer).ok_or_else(|| Self::wrong_kind::<L>(name, layer.kind()))
    }

    /// The layer called `name` as type `L`, mutably; errors as [`Self::get`].
    pub fn get_mut<L: TypedLayer>(&mut self, name: &str) -> Result<&mut L> {
        let layer = self.layer_mut(name)?;
        let found = layer.kind();
        L::from_layer_mut(layer).ok_or_else(|| Self::wrong_kind::<L>(name, found))
    }

    /// Removes and returns the layer called `name` as type `L`; errors as [`Self::get`]
    /// (on [`Error::WrongLayerKind`] the layer stays in the model).
    pub fn take<L: TypedLayer>(&mut self, name: &str) -> Result<L> {
        let i = self.index(name)?;
        let found = self.layers[i].1.kind();
        if found != L::KIND {
            return Err(Self::wrong_kind::<L>(name, found));
        }
        // The kind matches, so the conversion succeeds.
        L::from_layer(self.layers.remove(i).1).ok_or_else(|| Self::wrong_kind::<L>(name, found))
    }

    /// Names and layers, in insertion order.
    pub fn layers(&self) -> impl ExactSizeIterator<Item = (&str, &PackedLayer)> {
        self.layers.iter().map(|(n, l)| (n.as_str(), l))
    }

    /// Layer names, in insertion order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.layers.iter().map(|(n, _)| n.as_str())
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the model has no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Sets user metadata `key` (any string) to `value`, returning the previous value. Stored
    /// as `user.<key>` in the file.
    pub fn insert_meta(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Option<String> {
        self.metadata.insert(key.into(), value.into())
    }

    /// The user metadata value of `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// All user metadata, sorted by key.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The user metadata value of `key` parsed as `T` (e.g. a vocabulary size).
    ///
    /// Errors: [`Error::MissingMetadata`], [`Error::InvalidMetadata`] (both name `key`).
    pub fn parse_meta<T>(&self, key: &str) -> Result<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let value = self.meta(key).ok_or_else(|| Error::MissingMetadata {
            key: key.to_owned(),
        })?;
        value.parse().map_err(|e: T::Err| Error::InvalidMetadata {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: e.to_string(),
        })
    }

    /// The model as a [`PackedFile`] (`kind = packed_model`; layout in the
    /// [module docs](super)).
    ///
    /// Errors: [`Error::Kernel`] when a bias holds a NaN or an infinity.
    pub fn to_packed_file(&self) -> Result<PackedFile> {
        let mut file = with_header(KIND_MODEL);
        let names: Vec<&str> = self.names().collect();
        file.insert_meta(LAYERS_KEY, names.join(&LAYER_SEPARATOR.to_string()));
        for (key, value) in &self.metadata {
            file.insert_meta(format!("{USER}.{key}"), value.clone());
        }
        for (name, layer) in &self.layers {
            let prefix = format!("{name}.");
            let w = &mut LayerWriter {
                file: &mut file,
                prefix: &prefix,
            };
            match layer {
                PackedLayer::Linear(l) => write_layer(l, w)?,
                PackedLayer::Embedding(l) => write_layer(l, w)?,
                PackedLayer::Lstm(l) => write_layer(l, w)?,
                PackedLayer::Gru(l) => write_layer(l, w)?,
            }
        }
        Ok(file)
    }

    /// Rebuilds a model from a [`PackedFile`], validating all of it (see the
    /// [module docs](super)).
    pub fn from_packed_file(mut file: PackedFile) -> Result<Self> {
        check_header(&file, KIND_MODEL)?;
        let list = required(&file, LAYERS_KEY)?.to_owned();
        let mut model = PackedModel::new();
        for name in list.split(LAYER_SEPARATOR).filter(|_| !list.is_empty()) {
            model.check_new_name(name)?;
            let prefix = format!("{name}.");
            let r = &mut LayerReader {
                file: &mut file,
                prefix: &prefix,
            };
            let layer = match read_kind(r, name)? {
                LayerKind::Linear => PackedLinear::decode(r)?.into(),
                LayerKind::Embedding => PackedEmbedding::decode(r)?.into(),
                LayerKind::Lstm => PackedLstm::decode(r)?.into(),
                LayerKind::Gru => PackedGru::decode(r)?.into(),
            };
            model.layers.push((name.to_owned(), layer));
        }
        check_all_used(&file)?;
        let user_prefix = format!("{USER}.");
        for (key, value) in file.metadata() {
            if let Some(user_key) = key.strip_prefix(&user_prefix) {
                model.insert_meta(user_key, value.clone());
            }
        }
        Ok(model)
    }

    /// The model file as bytes (errors as [`Self::to_packed_file`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.to_packed_file()?.to_bytes())
    }

    /// Parses a model file held in memory: truncated, corrupted, wrong-version, wrong-kind or
    /// wrong-shape bytes give a typed error. Every layer computes bit-identical outputs to the
    /// one that was saved.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_packed_file(PackedFile::from_bytes(bytes)?)
    }

    /// Writes the model file to `path` (created or truncated).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        Ok(self.to_packed_file()?.save(path)?)
    }

    /// Reads a model file from `path`; errors as [`Self::from_bytes`], plus I/O errors.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_packed_file(PackedFile::load(path)?)
    }
}
