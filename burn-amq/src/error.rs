//! The error type of the Burn side of burn-amq.

/// Why a quantizer, a layer configuration, a conversion or a packed-inference call was
/// rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A bit width outside `1..=8` was requested.
    #[error("{what} must be in 1..=8 bits, got {bits}")]
    InvalidBits {
        /// Which setting carried the bad value (e.g. "weight_bits").
        what: &'static str,
        /// The rejected value.
        bits: usize,
    },
    /// A layer dimension was zero.
    #[error("{what} must be at least 1, got 0")]
    ZeroDimension {
        /// Which dimension was zero (e.g. "d_hidden").
        what: &'static str,
    },
    /// A `burn::nn` module uses a feature the quantized layer does not implement; converting it
    /// would silently compute a different function.
    #[error("cannot convert burn::nn::{module}: {reason}")]
    UnsupportedModule {
        /// The source module type (e.g. "Lstm").
        module: &'static str,
        /// The unsupported setting.
        reason: String,
    },
    /// A layer with full-precision weights cannot be packed: there are no bit planes.
    #[error("cannot pack {layer}: its weights are not quantized (weight_bits is None)")]
    NotQuantized {
        /// The layer type (e.g. "QuantLinear").
        layer: &'static str,
    },
    /// A buffer handed to a packed layer has the wrong length.
    #[error("{what}: expected length {expected}, got {actual}")]
    LengthMismatch {
        /// Which buffer (e.g. "x").
        what: &'static str,
        /// The length the layer needs.
        expected: usize,
        /// The length it got.
        actual: usize,
    },
    /// An embedding index is not a row of the table.
    #[error("index {index} is outside the table of {rows} rows")]
    IndexOutOfRange {
        /// The rejected index.
        index: usize,
        /// Rows in the table.
        rows: usize,
    },
    /// A kernel quantization method the quantized layers cannot train with (uniform and
    /// balanced have no code search; they serve direct quantization only).
    #[error(
        "the quantized layers train with greedy, refined, alternating or alternating-refit; \
         {method} is for direct quantization only"
    )]
    UntrainableMethod {
        /// The rejected method's name.
        method: &'static str,
    },
    /// A `burn-amq-kernels` call failed (non-finite input, unsupported shape, ...).
    #[error("kernel: {0}")]
    Kernel(#[from] burn_amq_kernels::AmqError),
    /// A packed file lacks a metadata key its layout requires (see [`crate::packed::file`]).
    #[error("packed file: missing metadata key {key:?}")]
    MissingMetadata {
        /// The full key (e.g. `"decoder.d_input"`).
        key: String,
    },
    /// A packed file's metadata value cannot be parsed, is out of range or contradicts
    /// other metadata.
    #[error("packed file: metadata {key:?} = {value:?} is invalid: {reason}")]
    InvalidMetadata {
        /// The full key.
        key: String,
        /// The stored value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A packed file's `kind` is not what the reader expects (e.g. a model file read as a
    /// single layer).
    #[error("packed file holds {found:?}, expected {expected:?}")]
    WrongFileKind {
        /// The kind the reader handles.
        expected: &'static str,
        /// The kind stored in the file.
        found: String,
    },
    /// A packed file has a burn-amq model-format version this build cannot read (the
    /// container's own version is checked separately, see
    /// [`AmqError::UnsupportedVersion`](burn_amq_kernels::AmqError::UnsupportedVersion)).
    #[error(
        "packed model format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedModelVersion {
        /// The version stored in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A packed file declares a layer type this build does not know.
    #[error(
        "layer {layer:?}: unknown layer type {found:?} (expected linear, embedding, lstm or gru)"
    )]
    UnknownLayerKind {
        /// The layer name (empty in a single-layer file).
        layer: String,
        /// The stored type.
        found: String,
    },
    /// A layer exists but is of another type than requested.
    #[error("layer {layer:?} is {found}, expected {expected}")]
    WrongLayerKind {
        /// The layer name (empty in a single-layer file).
        layer: String,
        /// The requested type.
        expected: crate::packed::LayerKind,
        /// The stored type.
        found: crate::packed::LayerKind,
    },
    /// No layer of a packed model has the requested name.
    #[error("no layer named {layer:?}")]
    LayerNotFound {
        /// The requested name.
        layer: String,
    },
    /// Two layers of a packed model share a name.
    #[error("duplicate layer name {layer:?}")]
    DuplicateLayer {
        /// The repeated name.
        layer: String,
    },
    /// A layer name cannot be used in a packed model.
    #[error("invalid layer name {layer:?}: {reason}")]
    InvalidLayerName {
        /// The rejected name.
        layer: String,
        /// Why.
        reason: &'static str,
    },
    /// A tensor the metadata implies is absent from a packed file.
    #[error("packed file: missing tensor {tensor:?}")]
    MissingTensor {
        /// The tensor name (e.g. `"lstm.input_weight"`).
        tensor: String,
    },
    /// A packed-file tensor is of another kind than the layout requires.
    #[error("packed file: tensor {tensor:?} is {found}, expected {expected}")]
    WrongTensorKind {
        /// The tensor name.
        tensor: String,
        /// The required kind (`"bit_planes"` or `"f32"`).
        expected: &'static str,
        /// The stored kind.
        found: &'static str,
    },
    /// A packed-file tensor's shape differs from the one the layer's metadata declares.
    #[error(
        "packed file: tensor {tensor:?} has shape {found:?}, the metadata declares {expected:?}"
    )]
    TensorShapeMismatch {
        /// The tensor name.
        tensor: String,
        /// The shape the metadata implies.
        expected: Vec<usize>,
        /// The stored shape (`[rows, n]` for bit planes).
        found: Vec<usize>,
    },
    /// A packed file holds a tensor that no declared layer uses.
    #[error("packed file: tensor {tensor:?} belongs to no declared layer")]
    UnusedTensor {
        /// The tensor name.
        tensor: String,
    },
}

/// Result alias with [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
