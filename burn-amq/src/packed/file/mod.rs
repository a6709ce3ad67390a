//! Packed layers and models on disk: [`PackedModel`] and the `save` /
//! `load` / `to_bytes` / `from_bytes` methods of every packed layer.
//!
//! # Container
//!
//! Files are [`PackedFile`]s of `burn-amq-kernels` (no Burn needed to read them): a 48-byte
//! preamble (magic `BURNAMQ\0`, container version
//! [`FORMAT_VERSION`](burn_amq_kernels::format::FORMAT_VERSION), lengths, CRC-32 of the whole
//! file), a JSON header (string metadata and the tensor table), then the 8-byte aligned
//! payload. Weight matrices are [`PackedTensor::BitPlanes`] in the row-major
//! [`BitPlanes`](burn_amq_kernels::BitPlanes) layout: per row and plane one f32 α and
//! `⌈n/64⌉` little-endian `u64` sign words (bit `j` of word `w` is entry `64w + j`, set for
//! `+1`). Biases are [`PackedTensor::F32`]. The kernel layouts (interleaved planes, lookup
//! nibbles) are rebuilt on load, so the file stays simple.
//!
//! # Metadata
//!
//! Every value is a string; numbers are decimal, flags are `true` / `false`.
//!
//! | key | value |
//! |-----|-------|
//! | `kind` | `packed_layer` (one layer, from a layer's `save`) or `packed_model` ([`PackedModel`]) |
//! | `model_format_version` | [`MODEL_FORMAT_VERSION`] (`1`): the burn-amq layout described here, separate from the container version |
//! | `layers` | models only: the layer names in order, comma-separated (empty for no layers) |
//! | `user.<key>` | models only: the user metadata ([`PackedModel::insert_meta`]) |
//!
//! Each layer has a prefix `P`: empty in a single-layer file, `<name>.` in a model (names are
//! ASCII letters, digits, `_` and `-`, and not `user`). Its keys and tensors are:
//!
//! | `P type` | keys | tensors (bit planes `[rows, n]`, f32 `[len]`) |
//! |----------|------|-------------------------------------------------|
//! | `linear` | `P d_input`, `P d_output`, `P bias` | `P weight` `[d_output, d_input]`; `P bias` `[d_output]` |
//! | `embedding` | `P n_embedding`, `P d_model` | `P weight` `[n_embedding, d_model]` |
//! | `lstm` | `P d_input`, `P d_hidden`, `P bias` | `P input_weight` `[4h, d_input]`, `P recurrent_weight` `[4h, h]`; `P bias` `[4h]` |
//! | `gru` | `P d_input`, `P d_hidden`, `P reset_after`, `P bias`, `P recurrent_new_bias` | `P input_weight` `[3h, d_input]`; with `reset_after`: `P recurrent_weight` `[3h, h]`, else `P recurrent_update_reset_weight` `[2h, h]` and `P recurrent_new_weight` `[h, h]`; `P bias` `[3h]`; `P recurrent_new_bias` `[h]` |
//!
//! Bias tensors are present exactly when their flag is `true` (`recurrent_new_bias` only
//! with `reset_after`). Gate blocks are the layers' row order (LSTM `i, f, g, o`; GRU
//! `z, r, n`). Every weight matrix `T` except the embedding table also says how its product
//! runs, which is what rebuilding it needs besides the codes:
//!
//! | key | value |
//! |-----|-------|
//! | `T.product` | `popcount` (inputs quantized online, XOR + popcount), `exact` (weights only: f32 inputs, masked sums) or `lookup` (weights only: f32 inputs, lookup tables) |
//! | `T.act_bits` | popcount only: activation bits, `1..=8` |
//! | `T.act_method` | popcount only: `greedy`, `refined` or `alternating:<cycles>` |
//!
//! A linear layer `decoder` in a model thus has the tensors `decoder.weight` and
//! `decoder.bias` and the keys `decoder.type = linear`, `decoder.d_input`, …,
//! `decoder.weight.product`.
//!
//! # Validation
//!
//! Loading checks the container (truncation, checksum, version: [`Error::Kernel`]), then
//! `kind` ([`Error::WrongFileKind`]), `model_format_version`
//! ([`Error::UnsupportedModelVersion`]), every key it needs ([`Error::MissingMetadata`],
//! [`Error::InvalidMetadata`]: unparsable values, zero or overflowing dimensions, bits outside
//! `1..=8`, unknown methods or products, keys that contradict others), layer types
//! ([`Error::UnknownLayerKind`], [`Error::WrongLayerKind`]), every tensor against the declared
//! dimensions ([`Error::MissingTensor`], [`Error::WrongTensorKind`],
//! [`Error::TensorShapeMismatch`]), and that no tensor is left over ([`Error::UnusedTensor`]).
//! It never panics on file data. A loaded layer computes bit-identical outputs to the saved
//! one.
//!
//! # Size
//!
//! A file is `packed_bytes` of [`SizeReport`](super::SizeReport) (planes, α and f32 biases)
//! plus 48 bytes of preamble, the JSON header (about 150 bytes per tensor plus the metadata
//! keys) and at most 7 bytes of alignment padding per tensor part (α, planes, f32 data).
//!
//! [`Error::Kernel`]: crate::Error::Kernel
//! [`Error::WrongFileKind`]: crate::Error::WrongFileKind
//! [`Error::UnsupportedModelVersion`]: crate::Error::UnsupportedModelVersion
//! [`Error::MissingMetadata`]: crate::Error::MissingMetadata
//! [`Error::InvalidMetadata`]: crate::Error::InvalidMetadata
//! [`Error::UnknownLayerKind`]: crate::Error::UnknownLayerKind
//! [`Error::WrongLayerKind`]: crate::Error::WrongLayerKind
//! [`Error::MissingTensor`]: crate::Error::MissingTensor
//! [`Error::WrongTensorKind`]: crate::Error::WrongTensorKind
//! [`Error::TensorShapeMismatch`]: crate::Error::TensorShapeMismatch
//! [`Error::UnusedTensor`]: crate::Error::UnusedTensor

mod codec;
mod layer_files;
mod meta;
mod model;

pub use burn_amq_kernels::format::{PackedFile, PackedTensor};
pub use model::{LayerKind, PackedLayer, PackedModel, TypedLayer};

/// The burn-amq model-format version this build writes and reads (metadata key
/// `model_format_version`).
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Metadata key of the file kind.
pub const KIND_KEY: &str = "kind";
/// Metadata key of the model-format version.
pub const VERSION_KEY: &str = "model_format_version";
/// `kind` of a single-layer file.
pub const KIND_LAYER: &str = "packed_layer";
/// `kind` of a [`PackedModel`] file.
pub const KIND_MODEL: &str = "packed_model";
