//! Architecture and quantization settings of the language models, saved as JSON beside
//! every checkpoint.

use burn::config::Config;
use burn_amq::QuantMethod;
use burn_amq::nn::QuantizationConfig;

use crate::error as ex;

/// The recurrent cell.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Long short-term memory (the paper's main model).
    Lstm,
    /// Gated recurrent unit (burn's `reset_after = true` variant).
    Gru,
}

impl CellKind {
    /// `"lstm"` or `"gru"`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }
}

/// Architecture of a word-level language model: embedding → one recurrent layer → decoder
/// over the vocabulary, with dropout on the embedding and on the recurrent output.
#[derive(Config, Debug, PartialEq)]
pub struct LmConfig {
    /// Vocabulary size (rows of the embedding, outputs of the decoder).
    pub vocab_size: usize,
    /// Embedding width.
    #[config(default = 300)]
    pub d_embedding: usize,
    /// Hidden size of the recurrent layer.
    #[config(default = 300)]
    pub d_hidden: usize,
    /// LSTM or GRU.
    #[config(default = "CellKind::Lstm")]
    pub cell: CellKind,
    /// Dropout probability (training only).
    #[config(default = 0.5)]
    pub dropout: f64,
}

impl LmConfig {
    /// Rejects zero sizes and a dropout outside `[0, 1)`.
    pub fn validate(&self) -> ex::Result<()> {
        let bad = |what: &str| Err(ex::Error::InvalidArgument(what.to_owned()));
        if self.vocab_size < 2 {
            return bad("the vocabulary needs at least 2 words");
        }
        if self.d_embedding == 0 || self.d_hidden == 0 {
            return bad("embedding and hidden sizes must be at least 1");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout must be in [0, 1)");
        }
        Ok(())
    }

    /// Short name, e.g. `"lstm-1x300"`.
    pub fn name(&self) -> String {
        format!("{}-1x{}", self.cell.name(), self.d_hidden)
    }
}

/// What the quantized model quantizes: all weight matrices (embedding, recurrent input and
/// recurrent matrices, decoder) with `weight_bits`, and with `act_bits` the hidden state at
/// every step and the decoder input.
#[derive(Config, Debug, PartialEq)]
pub struct QuantSpec {
    /// Bits per weight, row-wise per output unit (`1..=8`).
    #[config(default = 2)]
    pub weight_bits: usize,
    /// Bits per activation vector (`1..=8`); `None` quantizes weights only.
    #[config(default = "Some(2)")]
    pub act_bits: Option<usize>,
    /// The quantization procedure.
    #[config(default = "QuantMethod::Alternating { cycles: 2 }")]
    pub method: QuantMethod,
    /// Whether the recurrent layer quantizes its input `x_t` again. Its input is a row of the
    /// quantized embedding (already a `weight_bits` code, the paper: "needs no more
    /// quantization"), so the default is false; the packed model then runs the input
    /// product on lookup tables over f32 values.
    #[config(default = false)]
    pub quantize_rnn_input: bool,
    /// Bits per decoder (softmax) weight when they differ from `weight_bits` (`1..=8`; an
    /// ablation: the paper does not say how it quantizes that matrix). `None`: `weight_bits`.
    /// Specs saved before this field existed read as `None`.
    #[config(default = "None")]
    pub decoder_weight_bits: Option<usize>,
}

impl QuantSpec {
    /// The settings of the embedding (weights only).
    pub fn embedding(&self) -> QuantizationConfig {
        QuantizationConfig::new()
            .with_weight_bits(Some(self.weight_bits))
            .with_act_bits(None)
            .with_method(self.method)
    }

    /// The settings of the recurrent layer.
    pub fn recurrent(&self) -> QuantizationConfig {
        QuantizationConfig::new()
            .with_weight_bits(Some(self.weight_bits))
            .with_act_bits(self.act_bits)
            .with_method(self.method)
            .with_quantize_input(self.quantize_rnn_input)
    }

    /// The settings of the decoder (its input, the hidden output, is quantized).
    pub fn decoder(&self) -> QuantizationConfig {
        QuantizationConfig::new()
            .with_weight_bits(Some(self.decoder_bits()))
            .with_act_bits(self.act_bits)
            .with_method(self.method)
            .with_quantize_input(true)
    }

    /// The decoder's weight bits: `decoder_weight_bits`, else `weight_bits`.
    pub fn decoder_bits(&self) -> usize {
        self.decoder_weight_bits.unwrap_or(self.weight_bits)
    }

    /// `"W/A"` bits, e.g. `"2/2"` or `"2/f32"`; a decoder with other weight bits is named,
    /// e.g. `"2/2, decoder 8"`.
    pub fn bits_label(&self) -> String {
        let bits = match self.act_bits {
            Some(a) => format!("{}/{a}", self.weight_bits),
            None => format!("{}/f32", self.weight_bits),
        };
        match self.decoder_weight_bits {
            Some(d) if d != self.weight_bits => format!("{bits}, decoder {d}"),
            _ => bits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoder override reaches only the decoder, and a spec saved before it existed
    /// still loads.
    #[test]
    fn decoder_bits_override_only_the_decoder() {
        let spec = QuantSpec::new().with_decoder_weight_bits(Some(8));
        assert_eq!(spec.decoder().weight_bits, Some(8));
        assert_eq!(spec.recurrent().weight_bits, Some(2));
        assert_eq!(spec.embedding().weight_bits, Some(2));
        assert_eq!(spec.bits_label(), "2/2, decoder 8");
        assert_eq!(QuantSpec::new().decoder().weight_bits, Some(2));
        assert_eq!(QuantSpec::new().bits_label(), "2/2");
        let old: QuantSpec = serde_json::from_str(
            r#"{"weight_bits": 3, "act_bits": 3, "method": {"Alternating": {"cycles": 2}}, "quantize_rnn_input": false}"#,
        )
        .unwrap();
        assert_eq!(old.decoder_weight_bits, None);
        assert_eq!(old.decoder_bits(), 3);
    }
}
