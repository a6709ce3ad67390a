//! [`PackedFile`]: the in-memory form of a packed file.

use std::collections::BTreeMap;
use std::path::Path;

use super::tensor::{KIND_BIT_PLANES, KIND_F32, PackedTensor};
use crate::error::{AmqError, Result};
use crate::pack::BitPlanes;

/// String metadata plus named tensors, in insertion order; see the [module docs](super).
///
/// Every tensor is validated when it is [pushed](Self::push), so whatever a `PackedFile` holds
/// can be written and read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackedFile {
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) tensors: Vec<(String, PackedTensor)>,
}

impl PackedFile {
    /// An empty file: no metadata, no tensors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets metadata `key` to `value`, returning the previous value.
    pub fn insert_meta(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Option<String> {
        self.metadata.insert(key.into(), value.into())
    }

    /// The metadata value of `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// All metadata, sorted by key.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Appends a tensor. Fails on a name already present ([`AmqError::DuplicateTensor`]) and
    /// on a tensor a reader would reject ([`AmqError::InvalidTensor`]: non-finite α or values,
    /// f32 data whose length does not match the shape).
    pub fn push(&mut self, name: impl Into<String>, tensor: PackedTensor) -> Result<()> {
        let name = name.into();
        if self.position(&name).is_some() {
            return Err(AmqError::DuplicateTensor(name));
        }
        if let Err(e) = tensor.validate() {
            return Err(AmqError::InvalidTensor {
                tensor: name,
                source: Box::new(e),
            });
        }
        self.tensors.push((name, tensor));
        Ok(())
    }

    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&PackedTensor> {
        self.position(name).map(|i| &self.tensors[i].1)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the file holds no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Tensor names and tensors, in file order.
    pub fn tensors(&self) -> impl ExactSizeIterator<Item = (&str, &PackedTensor)> {
        self.tensors.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// Removes and returns the bit-plane tensor `name`.
    ///
    /// Errors: [`AmqError::TensorNotFound`], or [`AmqError::WrongTensorKind`] (the tensor then
    /// stays in the file).
    pub fn take_bit_planes(&mut self, name: &str) -> Result<BitPlanes> {
        let i = self.find(name, KIND_BIT_PLANES)?;
        match self.tensors.remove(i).1 {
            PackedTensor::BitPlanes(p) => Ok(p),
            PackedTensor::F32 { .. } => unreachable!("kind checked by find"),
        }
    }

    /// Removes and returns the data of the f32 tensor `name`, which must have shape
    /// `expected_shape`.
    ///
    /// Errors: [`AmqError::TensorNotFound`], [`AmqError::WrongTensorKind`] or
    /// [`AmqError::TensorShapeMismatch`] (in the last two cases the tensor stays in the file).
    pub fn take_f32(&mut self, name: &str, expected_shape: &[usize]) -> Result<Vec<f32>> {
        let i = self.find(name, KIND_F32)?;
        if let PackedTensor::F32 { shape, .. } = &self.tensors[i].1
            && shape.as_slice() != expected_shape
        {
            return Err(AmqError::TensorShapeMismatch {
                tensor: name.to_owned(),
                expected: expected_shape.to_vec(),
                found: shape.clone(),
            });
        }
        match self.tensors.remove(i).1 {
            PackedTensor::F32 { data, .. } => Ok(data),
            PackedTensor::BitPlanes(_) => unreachable!("kind checked by find"),
        }
    }

    /// Writes the file to `path` (created or truncated).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        self.write_to(&mut f)?;
        std::io::Write::flush(&mut f)?;
        Ok(())
    }

    /// Reads the file at `path`; the whole file must be one packed file (no trailing bytes).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_bytes(&std::fs::read(path)?)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.tensors.iter().position(|(n, _)| n == name)
    }

    /// Index of tensor `name`, checked to be of `kind`.
    fn find(&self, name: &str, kind: &'static str) -> Result<usize> {
        let i = self
            .position(name)
            .ok_or_else(|| AmqError::TensorNotFound(name.to_owned()))?;
        let found = self.tensors[i].1.kind();
        if found != kind {
            return Err(AmqError::WrongTensorKind {
                tensor: name.to_owned(),
                expected: kind,
                found,
            });
        }
        Ok(i)
    }
}
