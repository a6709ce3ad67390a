//! Single-layer files: `save` / `load` / `to_bytes` / `from_bytes` on every packed layer.

use std::path::Path;

use burn_amq_kernels::format::PackedFile;

use super::KIND_LAYER;
use super::codec::{LayerCodec, read_layer, write_layer};
use super::meta::{LayerReader, LayerWriter, check_all_used, check_header, with_header};
use crate::error::Result;
use crate::packed::{PackedEmbedding, PackedGru, PackedLinear, PackedLstm};

/// A single-layer file: the header keys, then the layer with an empty prefix.
fn to_file<L: LayerCodec>(layer: &L) -> Result<PackedFile> {
    let mut file = with_header(KIND_LAYER);
    write_layer(
        layer,
        &mut LayerWriter {
            file: &mut file,
            prefix: "",
        },
    )?;
    Ok(file)
}

fn from_file<L: LayerCodec>(mut file: PackedFile) -> Result<L> {
    check_header(&file, KIND_LAYER)?;
    let layer = read_layer(
        &mut LayerReader {
            file: &mut file,
            prefix: "",
        },
        "",
    )?;
    check_all_used(&file)?;
    Ok(layer)
}

/// The same six methods on every packed layer type.
macro_rules! layer_file_methods {
    ($layer:ident) => {
        impl $layer {
            #[doc = concat!("This layer as a single-layer [`PackedFile`] (`kind = packed_layer`; ",
                "layout in [`crate::packed::file`]).\n\n",
                "Errors: [`Error::Kernel`](crate::Error::Kernel) when a bias holds a NaN or an ",
                "infinity (the container stores finite values only).")]
            pub fn to_packed_file(&self) -> Result<PackedFile> {
                to_file(self)
            }

            #[doc = concat!("Rebuilds a `", stringify!($layer), "` from a single-layer ",
                "[`PackedFile`], validating all of it (see [`crate::packed::file`]).")]
            pub fn from_packed_file(file: PackedFile) -> Result<Self> {
                from_file(file)
            }

            #[doc = concat!("The single-layer file as bytes (errors as ",
                "[`to_packed_file`](Self::to_packed_file)).")]
            pub fn to_bytes(&self) -> Result<Vec<u8>> {
                Ok(self.to_packed_file()?.to_bytes())
            }

            #[doc = concat!("Parses a single-layer file held in memory: truncated, corrupted, ",
                "wrong-version, wrong-kind or wrong-shape bytes give a typed error (see ",
                "[`crate::packed::file`]). The layer computes bit-identical outputs to the one ",
                "that was saved.")]
            pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
                Self::from_packed_file(PackedFile::from_bytes(bytes)?)
            }

            #[doc = concat!("Writes the single-layer file to `path` (created or truncated); ",
                "errors as [`to_packed_file`](Self::to_packed_file), plus I/O errors ",
                "([`Error::Kernel`](crate::Error::Kernel)).")]
            pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
                Ok(self.to_packed_file()?.save(path)?)
            }

            #[doc = concat!("Reads a single-layer file from `path`; errors as ",
                "[`from_bytes`](Self::from_bytes), plus I/O errors.")]
            pub fn load(path: impl AsRef<Path>) -> Result<Self> {
                Self::from_packed_file(PackedFile::load(path)?)
            }
        }
    };
}

layer_file_methods!(PackedLinear);
layer_file_methods!(PackedEmbedding);
layer_file_methods!(PackedLstm);
layer_file_methods!(PackedGru);
