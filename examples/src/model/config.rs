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
            .with_weight_bits(Some(self.weight_bits))
            .with_act_bits(self.act_bits)
            .with_method(self.method)
            .with_quantize_input(true)
    }

    /// `"W/A"` bits, e.g. `"2/2"` or `"2/f32"`.
    pub fn bits_label(&self) -> String {
        match self.act_bits {
            Some(a) => format!("{}/{a}", self.weight_bits),
            None => format!("{}/f32", self.weight_bits),
        }
    }
}
