//! The metadata and tensors of each packed layer type (the tables of the [module docs](super)).

use super::meta::{LayerReader, LayerWriter};
use super::model::LayerKind;
use crate::error::{Error, Result};
use crate::packed::gru::Recurrent;
use crate::packed::{PackedEmbedding, PackedGru, PackedLinear, PackedLstm};

/// Key of a layer's type.
const TYPE: &str = "type";
/// LSTM gates (row blocks of the fused matrices).
const LSTM_GATES: usize = 4;
/// GRU gates.
const GRU_GATES: usize = 3;

/// A packed layer type that has a file layout.
pub(crate) trait LayerCodec: Sized {
    /// The layer's `type`.
    const KIND: LayerKind;
    /// Writes the layer's own keys and tensors (not `type`).
    fn encode(&self, w: &mut LayerWriter<'_>) -> Result<()>;
    /// Reads them back (`type` already checked).
    fn decode(r: &mut LayerReader<'_>) -> Result<Self>;
}

/// Writes `layer` with its `type`.
pub(super) fn write_layer<L: LayerCodec>(layer: &L, w: &mut LayerWriter<'_>) -> Result<()> {
    w.meta(TYPE, L::KIND.name());
    layer.encode(w)
}

/// The `type` of layer `name` (its prefix is `r`'s).
pub(super) fn read_kind(r: &LayerReader<'_>, name: &str) -> Result<LayerKind> {
    let found = r.text(TYPE)?;
    LayerKind::from_name(&found).ok_or_else(|| Error::UnknownLayerKind {
        layer: name.to_owned(),
        found,
    })
}

/// Reads layer `name`, which must be of type `L`.
pub(super) fn read_layer<L: LayerCodec>(r: &mut LayerReader<'_>, name: &str) -> Result<L> {
    let found = read_kind(r, name)?;
    if found != L::KIND {
        return Err(Error::WrongLayerKind {
            layer: name.to_owned(),
            expected: L::KIND,
            found,
        });
    }
    L::decode(r)
}

impl LayerCodec for PackedLinear {
    const KIND: LayerKind = LayerKind::Linear;

    fn encode(&self, w: &mut LayerWriter<'_>) -> Result<()> {
        w.meta("d_input", self.d_input());
        w.meta("d_output", self.d_output());
        w.matrix("weight", &self.weight)?;
        w.bias("bias", "bias", self.bias.as_deref())
    }

    fn decode(r: &mut LayerReader<'_>) -> Result<Self> {
        let (d_input, d_output) = (r.dim("d_input")?, r.dim("d_output")?);
        let weight = r.matrix("weight", d_output, d_input)?;
        let bias = r.bias("bias", "bias", d_output)?;
        Ok(PackedLinear { weight, bias })
    }
}

impl LayerCodec for PackedEmbedding {
    const KIND: LayerKind = LayerKind::Embedding;

    fn encode(&self, w: &mut LayerWriter<'_>) -> Result<()> {
        w.meta("n_embedding", self.n_embedding());
        w.meta("d_model", self.d_model());
        w.planes("weight", &self.table)
    }

    fn decode(r: &mut LayerReader<'_>) -> Result<Self> {
        let (rows, d_model) = (r.dim("n_embedding")?, r.dim("d_model")?);
        let table = r.planes("weight", rows, d_model)?;
        Ok(PackedEmbedding { table })
    }
}

impl LayerCodec for PackedLstm {
    const KIND: LayerKind = LayerKind::Lstm;

    fn encode(&self, w: &mut LayerWriter<'_>) -> Result<()> {
        w.meta("d_input", self.d_input());
        w.meta("d_hidden", self.d_hidden());
        w.matrix("input_weight", &self.input)?;
        w.matrix("recurrent_weight", &self.recurrent)?;
        w.bias("bias", "bias", self.bias.as_deref())
    }

    fn decode(r: &mut LayerReader<'_>) -> Result<Self> {
        let (d_input, h) = (r.dim("d_input")?, r.dim("d_hidden")?);
        let rows = r.scaled_dim("d_hidden", LSTM_GATES)?;
        let input = r.matrix("input_weight", rows, d_input)?;
        let recurrent = r.matrix("recurrent_weight", rows, h)?;
        let bias = r.bias("bias", "bias", rows)?;
        Ok(PackedLstm::from_parts(input, recurrent, bias, h))
    }
}

impl LayerCodec for PackedGru {
    const KIND: LayerKind = LayerKind::Gru;

    fn encode(&self, w: &mut LayerWriter<'_>) -> Result<()> {
        w.meta("d_input", self.d_input());
        w.meta("d_hidden", self.d_hidden());
        w.meta("reset_after", matches!(self.recurrent, Recurrent::After(_)));
        w.matrix("input_weight", &self.input)?;
        match &self.recurrent {
            Recurrent::After(u) => w.matrix("recurrent_weight", u)?,
            Recurrent::Before { update_reset, new } => {
                w.matrix("recurrent_update_reset_weight", update_reset)?;
                w.matrix("recurrent_new_weight", new)?;
            }
        }
        w.bias("bias", "bias", self.bias.as_deref())?;
        w.bias(
            "recurrent_new_bias",
            "recurrent_new_bias",
            self.recurrent_new_bias.as_deref(),
        )
    }

    fn decode(r: &mut LayerReader<'_>) -> Result<Self> {
        let (d_input, h) = (r.dim("d_input")?, r.dim("d_hidden")?);
        let rows = r.scaled_dim("d_hidden", GRU_GATES)?;
        let reset_after = r.flag("reset_after")?;
        let input = r.matrix("input_weight", rows, d_input)?;
        let recurrent = if reset_after {
            Recurrent::After(r.matrix("recurrent_weight", rows, h)?)
        } else {
            r.forbid_true(
                "recurrent_new_bias",
                "a recurrent new-gate bias needs reset_after",
            )?;
            let update_reset_rows = r.scaled_dim("d_hidden", 2)?;
            Recurrent::Before {
                update_reset: r.matrix("recurrent_update_reset_weight", update_reset_rows, h)?,
                new: Box::new(r.matrix("recurrent_new_weight", h, h)?),
            }
        };
        let bias = r.bias("bias", "bias", rows)?;
        let recurrent_new_bias = r.bias("recurrent_new_bias", "recurrent_new_bias", h)?;
        Ok(PackedGru::from_parts(
            input,
            recurrent,
            bias,
            recurrent_new_bias,
            h,
        ))
    }
}
