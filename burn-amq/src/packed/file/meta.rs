//! Typed reading and writing of one layer's metadata and tensors in a [`PackedFile`].

use burn_amq_kernels::BitPlanes;
use burn_amq_kernels::format::{PackedFile, PackedTensor};
use burn_amq_kernels::quant::Method;

use super::{KIND_KEY, MODEL_FORMAT_VERSION, VERSION_KEY};
use crate::error::{Error, Result};
use crate::packed::matrix::{PackedMatrix, ProductKind};

/// Key suffix of a matrix's product.
const PRODUCT: &str = "product";
/// Key suffix of a popcount matrix's activation bits.
const ACT_BITS: &str = "act_bits";
/// Key suffix of a popcount matrix's activation method.
const ACT_METHOD: &str = "act_method";
/// `product` of [`ProductKind::Popcount`].
const POPCOUNT: &str = "popcount";
/// `product` of [`ProductKind::Lookup`].
const LOOKUP: &str = "lookup";
/// `product` of [`ProductKind::Exact`].
const EXACT: &str = "exact";

fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Error {
    Error::InvalidMetadata {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// The value of `key`, required.
pub(super) fn required<'a>(file: &'a PackedFile, key: &str) -> Result<&'a str> {
    file.meta(key).ok_or_else(|| Error::MissingMetadata {
        key: key.to_owned(),
    })
}

/// Checks the model-format version, then that the file is of `kind`.
pub(super) fn check_header(file: &PackedFile, kind: &'static str) -> Result<()> {
    let version = required(file, VERSION_KEY)?;
    let found = version
        .parse::<u32>()
        .map_err(|e| invalid(VERSION_KEY, version, e.to_string()))?;
    if found != MODEL_FORMAT_VERSION {
        return Err(Error::UnsupportedModelVersion {
            found,
            supported: MODEL_FORMAT_VERSION,
        });
    }
    let found = required(file, KIND_KEY)?;
    if found != kind {
        return Err(Error::WrongFileKind {
            expected: kind,
            found: found.to_owned(),
        });
    }
    Ok(())
}

/// A file with the version and `kind` keys set.
pub(super) fn with_header(kind: &'static str) -> PackedFile {
    let mut file = PackedFile::new();
    file.insert_meta(VERSION_KEY, MODEL_FORMAT_VERSION.to_string());
    file.insert_meta(KIND_KEY, kind);
    file
}

/// Fails on the first tensor that decoding left in the file.
pub(super) fn check_all_used(file: &PackedFile) -> Result<()> {
    match file.tensors().next() {
        Some((name, _)) => Err(Error::UnusedTensor {
            tensor: name.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Writes one layer: metadata keys and tensor names are `prefix` + the layer's own names.
pub(super) struct LayerWriter<'a> {
    pub file: &'a mut PackedFile,
    pub prefix: &'a str,
}

impl LayerWriter<'_> {
    fn name(&self, local: &str) -> String {
        format!("{}{local}", self.prefix)
    }

    pub fn meta(&mut self, key: &str, value: impl ToString) {
        let key = self.name(key);
        self.file.insert_meta(key, value.to_string());
    }

    /// Bit-plane tensor `tensor`.
    pub fn planes(&mut self, tensor: &str, codes: &BitPlanes) -> Result<()> {
        let name = self.name(tensor);
        self.file
            .push(name, PackedTensor::BitPlanes(codes.clone()))
            .map_err(Error::from)
    }

    /// The codes of `m` as tensor `tensor`, and its product under `tensor.*` keys.
    pub fn matrix(&mut self, tensor: &str, m: &PackedMatrix) -> Result<()> {
        self.planes(tensor, m.codes())?;
        match m.product_kind() {
            ProductKind::Popcount { bits, method } => {
                self.meta(&format!("{tensor}.{PRODUCT}"), POPCOUNT);
                self.meta(&format!("{tensor}.{ACT_BITS}"), bits);
                self.meta(&format!("{tensor}.{ACT_METHOD}"), method);
            }
            ProductKind::Lookup => self.meta(&format!("{tensor}.{PRODUCT}"), LOOKUP),
            ProductKind::Exact => self.meta(&format!("{tensor}.{PRODUCT}"), EXACT),
        }
        Ok(())
    }

    /// Flag `flag` (whether there is a bias) and, when present, the f32 tensor `tensor`.
    pub fn bias(&mut self, flag: &str, tensor: &str, bias: Option<&[f32]>) -> Result<()> {
        self.meta(flag, bias.is_some());
        if let Some(b) = bias {
            let name = self.name(tensor);
            let t = PackedTensor::F32 {
                shape: vec![b.len()],
                data: b.to_vec(),
            };
            self.file.push(name, t)?;
        }
        Ok(())
    }
}

/// Reads one layer (the counterpart of [`LayerWriter`]), removing its tensors from the file.
pub(super) struct LayerReader<'a> {
    pub file: &'a mut PackedFile,
    pub prefix: &'a str,
}

impl LayerReader<'_> {
    fn name(&self, local: &str) -> String {
        format!("{}{local}", self.prefix)
    }

    /// The value of `key`, required.
    pub fn text(&self, key: &str) -> Result<String> {
        required(self.file, &self.name(key)).map(str::to_owned)
    }

    /// A dimension: a decimal integer ≥ 1.
    pub fn dim(&self, key: &str) -> Result<usize> {
        let value = self.text(key)?;
        match value.parse::<usize>() {
            Ok(0) => Err(invalid(&self.name(key), &value, "must be at least 1")),
            Ok(d) => Ok(d),
            Err(e) => Err(invalid(&self.name(key), &value, e.to_string())),
        }
    }

    /// `factor · dim(key)`, failing on overflow (such a file cannot hold those tensors).
    pub fn scaled_dim(&self, key: &str, factor: usize) -> Result<usize> {
        let d = self.dim(key)?;
        d.checked_mul(factor).ok_or_else(|| {
            invalid(
                &self.name(key),
                &d.to_string(),
                format!("{factor} times it overflows usize"),
            )
        })
    }

    /// A flag: `true` or `false`.
    pub fn flag(&self, key: &str) -> Result<bool> {
        let value = self.text(key)?;
        match value.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid(&self.name(key), &value, "expected true or false")),
        }
    }

    /// Fails when `key` is set: it contradicts other metadata (`reason`).
    pub fn forbid(&self, key: &str, reason: &str) -> Result<()> {
        let full = self.name(key);
        match self.file.meta(&full) {
            Some(value) => Err(invalid(&full, value, reason)),
            None => Ok(()),
        }
    }

    /// Fails when flag `key` is `true`: it contradicts other metadata (`reason`).
    pub fn forbid_true(&self, key: &str, reason: &str) -> Result<()> {
        if self.flag(key)? {
            Err(invalid(&self.name(key), "true", reason))
        } else {
            Ok(())
        }
    }

    /// The product of matrix `tensor`.
    fn product(&self, tensor: &str) -> Result<ProductKind> {
        let key = format!("{tensor}.{PRODUCT}");
        let product = self.text(&key)?;
        let (bits_key, method_key) = (
            format!("{tensor}.{ACT_BITS}"),
            format!("{tensor}.{ACT_METHOD}"),
        );
        match product.as_str() {
            POPCOUNT => {
                let bits = self.text(&bits_key)?;
                let full = self.name(&bits_key);
                let bits = match bits.parse::<usize>() {
                    Ok(b) if (1..=crate::quantizer::MAX_BITS).contains(&b) => b,
                    Ok(_) => return Err(invalid(&full, &bits, "must be in 1..=8")),
                    Err(e) => return Err(invalid(&full, &bits, e.to_string())),
                };
                let text = self.text(&method_key)?;
                let full = self.name(&method_key);
                let method = text
                    .parse::<Method>()
                    .map_err(|e| invalid(&full, &text, e.to_string()))?;
                if !method.is_search() {
                    return Err(invalid(
                        &full,
                        &text,
                        "activations are quantized by greedy, refined, alternating or \
                         alternating-refit",
                    ));
                }
                Ok(ProductKind::Popcount { bits, method })
            }
            LOOKUP => {
                let reason = "the lookup product has f32 inputs";
                self.forbid(&bits_key, reason)?;
                self.forbid(&method_key, reason)?;
                Ok(ProductKind::Lookup)
            }
            EXACT => {
                let reason = "the exact product has f32 inputs";
                self.forbid(&bits_key, reason)?;
                self.forbid(&method_key, reason)?;
                Ok(ProductKind::Exact)
            }
            _ => Err(invalid(
                &self.name(&key),
                &product,
                format!("expected {POPCOUNT}, {LOOKUP} or {EXACT}"),
            )),
        }
    }

    /// Removes bit-plane tensor `tensor`, which must be `[rows, n]`.
    pub fn planes(&mut self, tensor: &str, rows: usize, n: usize) -> Result<BitPlanes> {
        let name = self.name(tensor);
        match self.file.get(&name) {
            None => return Err(Error::MissingTensor { tensor: name }),
            Some(PackedTensor::BitPlanes(p)) if (p.rows(), p.n()) != (rows, n) => {
                return Err(Error::TensorShapeMismatch {
                    tensor: name,
                    expected: vec![rows, n],
                    found: vec![p.rows(), p.n()],
                });
            }
            Some(t @ PackedTensor::F32 { .. }) => {
                return Err(Error::WrongTensorKind {
                    tensor: name,
                    expected: BIT_PLANES_KIND,
                    found: t.kind(),
                });
            }
            Some(PackedTensor::BitPlanes(_)) => {}
        }
        Ok(self.file.take_bit_planes(&name)?)
    }

    /// Removes matrix `tensor` (`[rows, n]`) and rebuilds its product.
    pub fn matrix(&mut self, tensor: &str, rows: usize, n: usize) -> Result<PackedMatrix> {
        let product = self.product(tensor)?;
        let codes = self.planes(tensor, rows, n)?;
        PackedMatrix::from_codes(codes, product)
    }

    /// Removes f32 tensor `tensor`, which must be `[len]`.
    fn vector(&mut self, tensor: &str, len: usize) -> Result<Vec<f32>> {
        let name = self.name(tensor);
        match self.file.get(&name) {
            None => return Err(Error::MissingTensor { tensor: name }),
            Some(PackedTensor::F32 { shape, .. }) if shape.as_slice() != [len] => {
                return Err(Error::TensorShapeMismatch {
                    tensor: name,
                    expected: vec![len],
                    found: shape.clone(),
                });
            }
            Some(t @ PackedTensor::BitPlanes(_)) => {
                return Err(Error::WrongTensorKind {
                    tensor: name,
                    expected: F32_KIND,
                    found: t.kind(),
                });
            }
            Some(PackedTensor::F32 { .. }) => {}
        }
        Ok(self.file.take_f32(&name, &[len])?)
    }

    /// The bias `tensor` (`[len]`) when flag `flag` is `true`.
    pub fn bias(&mut self, flag: &str, tensor: &str, len: usize) -> Result<Option<Vec<f32>>> {
        if self.flag(flag)? {
            self.vector(tensor, len).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// [`PackedTensor::kind`] of bit-plane tensors.
const BIT_PLANES_KIND: &str = "bit_planes";
/// [`PackedTensor::kind`] of f32 tensors.
const F32_KIND: &str = "f32";
