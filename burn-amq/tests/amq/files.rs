//! Packed layer and model files: bit-identical round trips, validation, size reports.

use std::path::PathBuf;

use burn::prelude::*;
use burn_amq::nn::{QuantEmbeddingConfig, QuantGruConfig, QuantLinearConfig, QuantLstmConfig};
use burn_amq::packed::file::{
    KIND_KEY, KIND_LAYER, MODEL_FORMAT_VERSION, PackedFile, PackedTensor, VERSION_KEY,
};
use burn_amq::packed::{
    LayerKind, PackOptions, PackedEmbedding, PackedGru, PackedLayer, PackedLinear, PackedLstm,
    PackedLstmState, PackedModel, SizeReport, WeightsOnlyProduct,
};
use burn_amq::{Error, QuantMethod};
use burn_amq_kernels::format::{FORMAT_VERSION, PREAMBLE_LEN, Preamble};
use burn_amq_kernels::{AmqError, BitPlanes};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::common::reseeded;

/// Seeded N(0, 1) host values.
fn inputs(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.sample(StandardNormal)).collect()
}

/// A path in the temp directory unique to this process and test.
fn temp_path(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("burn-amq-files-{}-{test}.amq", std::process::id()))
}

const D_IN: usize = 6;
const D_OUT: usize = 5;
const H: usize = 4;
const BATCH: usize = 3;
const SEQ: usize = 4;

fn linear(act_bits: Option<usize>, bias: bool, seed: u64) -> PackedLinear {
    QuantLinearConfig::new(D_IN, D_OUT)
        .with_bias(bias)
        .with_weight_bits(Some(2))
        .with_act_bits(act_bits)
        .init(&Device::flex())
        .map(|l| reseeded(l, seed))
        .unwrap()
        .pack()
        .unwrap()
}

fn lstm(act_bits: Option<usize>, quantize_input: bool, seed: u64) -> PackedLstm {
    QuantLstmConfig::new(D_IN, H, true)
        .with_weight_bits(Some(3))
        .with_act_bits(act_bits)
        .with_quantize_input(quantize_input)
        .init(&Device::flex())
        .map(|l| reseeded(l, seed))
        .unwrap()
        .pack()
        .unwrap()
}

fn gru(act_bits: Option<usize>, reset_after: bool, seed: u64) -> PackedGru {
    QuantGruConfig::new(D_IN, H, true)
        .with_reset_after(reset_after)
        .with_weight_bits(Some(2))
        .with_act_bits(act_bits)
        .with_method(QuantMethod::Refined)
        .init(&Device::flex())
        .map(|l| reseeded(l, seed))
        .unwrap()
        .pack()
        .unwrap()
}

fn embedding(seed: u64) -> PackedEmbedding {
    QuantEmbeddingConfig::new(7, D_IN)
        .with_weight_bits(Some(3))
        .init(&Device::flex())
        .map(|l| reseeded(l, seed))
        .unwrap()
        .pack()
        .unwrap()
}

fn linear_out(layer: &mut PackedLinear, x: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; BATCH * layer.d_output()];
    layer.forward(x, BATCH, &mut out).unwrap();
    out
}

/// Hidden states of a sequence plus the hidden and cell state after one extra step.
fn lstm_out(layer: &mut PackedLstm, x: &[f32], x_t: &[f32]) -> Vec<Vec<f32>> {
    let (outputs, mut state) = layer.forward(x, BATCH, SEQ, None).unwrap();
    layer.step(x_t, &mut state).unwrap();
    vec![outputs, state.hidden().to_vec(), state.cell().to_vec()]
}

/// Hidden states of a sequence from a given state, plus one step from the zero state.
fn gru_out(layer: &mut PackedGru, x: &[f32], x_t: &[f32], h0: &[f32]) -> Vec<Vec<f32>> {
    let outputs = layer.forward(x, BATCH, SEQ, Some(h0)).unwrap();
    let mut hidden = vec![0.0; BATCH * H];
    layer.step(x_t, BATCH, &mut hidden).unwrap();
    vec![outputs, hidden]
}

#[test]
fn linear_round_trips_bit_identically() {
    let x = inputs(BATCH * D_IN, 1);
    for (act_bits, bias) in [
        (Some(2), true),
        (None, true),
        (Some(3), false),
        (None, false),
    ] {
        let mut layer = linear(act_bits, bias, 11);
        assert_eq!(layer.quantizes_input(), act_bits.is_some());
        let expected = linear_out(&mut layer, &x);
        let mut loaded = PackedLinear::from_bytes(&layer.to_bytes().unwrap()).unwrap();
        assert_eq!(loaded.quantizes_input(), layer.quantizes_input());
        assert_eq!(loaded.dequantized_weight(), layer.dequantized_weight());
        assert_eq!(
            linear_out(&mut loaded, &x),
            expected,
            "act {act_bits:?} bias {bias}"
        );
        assert_eq!(loaded.size_report(), layer.size_report());
    }
}

#[test]
fn weights_only_products_round_trip_with_their_kind() {
    let x = inputs(BATCH * D_IN, 21);
    let layer = QuantLinearConfig::new(D_IN, D_OUT)
        .with_weight_bits(Some(3))
        .init(&Device::flex())
        .map(|l| reseeded(l, 22))
        .unwrap();
    for (product, name) in [
        (WeightsOnlyProduct::Exact, "exact"),
        (WeightsOnlyProduct::Lookup, "lookup"),
    ] {
        let options = PackOptions::default().with_weights_only(product);
        let mut packed = layer.pack_with(&options).unwrap();
        let bytes = packed.to_bytes().unwrap();
        let file = PackedFile::from_bytes(&bytes).unwrap();
        assert_eq!(file.meta("weight.product"), Some(name));
        let mut loaded = PackedLinear::from_bytes(&bytes).unwrap();
        assert_eq!(
            linear_out(&mut loaded, &x),
            linear_out(&mut packed, &x),
            "{name}"
        );
    }
}

#[test]
fn layers_round_trip_through_files_on_disk() {
    let path = temp_path("layers");
    let x = inputs(BATCH * D_IN, 2);
    let mut layer = linear(Some(2), true, 12);
    layer.save(&path).unwrap();
    let mut loaded = PackedLinear::load(&path).unwrap();
    assert_eq!(linear_out(&mut loaded, &x), linear_out(&mut layer, &x));

    let table = embedding(13);
    table.save(&path).unwrap();
    let loaded = PackedEmbedding::load(&path).unwrap();
    let (mut a, mut b) = (vec![0.0; 4 * D_IN], vec![0.0; 4 * D_IN]);
    table.lookup(&[0, 6, 3, 3], &mut a).unwrap();
    loaded.lookup(&[0, 6, 3, 3], &mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!((loaded.n_embedding(), loaded.d_model()), (7, D_IN));
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        PackedEmbedding::load(&path),
        Err(Error::Kernel(AmqError::Io { .. }))
    ));
}

#[test]
fn lstm_round_trips_bit_identically() {
    let x = inputs(BATCH * SEQ * D_IN, 3);
    let x_t = inputs(BATCH * D_IN, 4);
    // Both products popcount; input lookup + recurrent popcount; both lookup.
    for (act_bits, quantize_input) in [(Some(2), true), (Some(2), false), (None, true)] {
        let mut layer = lstm(act_bits, quantize_input, 14);
        let expected = lstm_out(&mut layer, &x, &x_t);
        let mut loaded = PackedLstm::from_bytes(&layer.to_bytes().unwrap()).unwrap();
        assert_eq!((loaded.d_input(), loaded.d_hidden()), (D_IN, H));
        assert_eq!(
            lstm_out(&mut loaded, &x, &x_t),
            expected,
            "act {act_bits:?} quantize_input {quantize_input}"
        );
        // A step from a non-zero state as well.
        let state =
            PackedLstmState::new(BATCH, H, inputs(BATCH * H, 5), inputs(BATCH * H, 6)).unwrap();
        let (mut s1, mut s2) = (state.clone(), state);
        layer.step(&x_t, &mut s1).unwrap();
        loaded.step(&x_t, &mut s2).unwrap();
        assert_eq!(s1, s2);
    }
}

#[test]
fn gru_round_trips_bit_identically() {
    let x = inputs(BATCH * SEQ * D_IN, 7);
    let x_t = inputs(BATCH * D_IN, 8);
    let h0: Vec<f32> = inputs(BATCH * H, 9).iter().map(|v| v.tanh()).collect();
    for reset_after in [true, false] {
        for act_bits in [Some(2), None] {
            let mut layer = gru(act_bits, reset_after, 15);
            let expected = gru_out(&mut layer, &x, &x_t, &h0);
            let mut loaded = PackedGru::from_bytes(&layer.to_bytes().unwrap()).unwrap();
            assert_eq!(
                gru_out(&mut loaded, &x, &x_t, &h0),
                expected,
                "reset_after {reset_after} act {act_bits:?}"
            );
            assert_eq!(loaded.size_report(), layer.size_report());
        }
    }
}

/// A user's packed language model: the struct the issue wants to be easy to save.
struct PackedLm {
    embedding: PackedEmbedding,
    lstm: PackedLstm,
    decoder: PackedLinear,
}

const VOCAB: usize = 9;

impl PackedLm {
    fn new(seed: u64) -> Self {
        let device = Device::flex();
        Self {
            embedding: QuantEmbeddingConfig::new(VOCAB, D_IN)
                .init(&device)
                .map(|l| reseeded(l, seed))
                .unwrap()
                .pack()
                .unwrap(),
            lstm: lstm(Some(2), true, seed + 1),
            decoder: QuantLinearConfig::new(H, VOCAB)
                .with_act_bits(Some(2))
                .init(&device)
                .map(|l| reseeded(l, seed + 2))
                .unwrap()
                .pack()
                .unwrap(),
        }
    }

    fn to_model(&self) -> burn_amq::Result<PackedModel> {
        let mut model = PackedModel::new();
        model.insert_meta("model", "lstm_lm");
        model.insert_meta("vocab_size", VOCAB.to_string());
        model.insert("embedding", self.embedding.clone())?;
        model.insert("lstm", self.lstm.clone())?;
        model.insert("decoder", self.decoder.clone())?;
        Ok(model)
    }

    fn from_model(mut model: PackedModel) -> burn_amq::Result<Self> {
        Ok(Self {
            embedding: model.take("embedding")?,
            lstm: model.take("lstm")?,
            decoder: model.take("decoder")?,
        })
    }

    /// Next-token logits `[BATCH][SEQ][VOCAB]` for token ids `[BATCH][SEQ]`.
    fn logits(&mut self, tokens: &[usize]) -> Vec<f32> {
        let mut x = vec![0.0; tokens.len() * D_IN];
        self.embedding.lookup(tokens, &mut x).unwrap();
        let (hidden, _) = self.lstm.forward(&x, BATCH, SEQ, None).unwrap();
        let mut out = vec![0.0; BATCH * SEQ * VOCAB];
        self.decoder
            .forward(&hidden, BATCH * SEQ, &mut out)
            .unwrap();
        out
    }
}

#[test]
fn a_language_model_struct_saves_and_rebuilds() {
    let tokens: Vec<usize> = (0..BATCH * SEQ).map(|i| (i * 5 + 2) % VOCAB).collect();
    let mut lm = PackedLm::new(20);
    let expected = lm.logits(&tokens);
    let model = lm.to_model().unwrap();
    assert_eq!(
        model.names().collect::<Vec<_>>(),
        ["embedding", "lstm", "decoder"]
    );

    let path = temp_path("lm");
    model.save(&path).unwrap();
    let loaded = PackedModel::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        loaded.names().collect::<Vec<_>>(),
        ["embedding", "lstm", "decoder"]
    );
    assert_eq!(loaded.meta("model"), Some("lstm_lm"));
    assert_eq!(loaded.parse_meta::<usize>("vocab_size").unwrap(), VOCAB);
    assert_eq!(loaded.metadata().len(), 2);
    assert_eq!(loaded.size_report(), model.size_report());
    let mut rebuilt = PackedLm::from_model(loaded).unwrap();
    assert_eq!(rebuilt.logits(&tokens), expected);

    // Tensor names carry the layer names.
    let file = PackedFile::from_bytes(&model.to_bytes().unwrap()).unwrap();
    let names: Vec<&str> = file.tensors().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "embedding.weight",
            "lstm.input_weight",
            "lstm.recurrent_weight",
            "lstm.bias",
            "decoder.weight",
            "decoder.bias"
        ]
    );
    assert_eq!(file.meta("decoder.type"), Some("linear"));
    assert_eq!(file.meta("decoder.weight.product"), Some("popcount"));
    assert_eq!(file.meta("decoder.weight.act_bits"), Some("2"));
    assert_eq!(
        file.meta("decoder.weight.act_method"),
        Some("alternating:2")
    );
    assert_eq!(file.meta("user.vocab_size"), Some("9"));
    assert_eq!(file.meta("layers"), Some("embedding,lstm,decoder"));
}

#[test]
fn model_accessors_give_typed_errors() {
    let mut model = PackedModel::new();
    assert!(model.is_empty());
    model.insert("dec", linear(None, true, 30)).unwrap();
    model.insert("rnn", gru(Some(2), false, 31)).unwrap();
    assert_eq!(model.len(), 2);
    assert_eq!(model.layer("rnn").unwrap().kind(), LayerKind::Gru);
    assert_eq!(model.get::<PackedLinear>("dec").unwrap().d_output(), D_OUT);
    model.get_mut::<PackedGru>("rnn").unwrap();

    assert_eq!(
        model.insert("dec", embedding(32)).unwrap_err(),
        Error::DuplicateLayer {
            layer: "dec".into()
        }
    );
    for bad in ["", "a.b", "a,b", "user", "é"] {
        assert!(
            matches!(
                model.insert(bad, embedding(33)),
                Err(Error::InvalidLayerName { .. })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        model.get::<PackedLinear>("missing").unwrap_err(),
        Error::LayerNotFound {
            layer: "missing".into()
        }
    );
    let wrong = Error::WrongLayerKind {
        layer: "dec".into(),
        expected: LayerKind::Lstm,
        found: LayerKind::Linear,
    };
    assert_eq!(model.get::<PackedLstm>("dec").unwrap_err(), wrong);
    assert_eq!(model.get_mut::<PackedLstm>("dec").unwrap_err(), wrong);
    assert_eq!(model.take::<PackedLstm>("dec").unwrap_err(), wrong);
    // A failed take leaves the layer in place.
    assert_eq!(model.len(), 2);
    assert!(matches!(model.remove("rnn").unwrap(), PackedLayer::Gru(_)));
    assert!(matches!(
        model.remove("rnn"),
        Err(Error::LayerNotFound { .. })
    ));
    assert_eq!(
        model.parse_meta::<usize>("vocab").unwrap_err(),
        Error::MissingMetadata {
            key: "vocab".into()
        }
    );
    model.insert_meta("vocab", "many");
    assert!(matches!(
        model.parse_meta::<usize>("vocab"),
        Err(Error::InvalidMetadata { .. })
    ));
    // An empty model round-trips too.
    let empty = PackedModel::from_bytes(&PackedModel::new().to_bytes().unwrap()).unwrap();
    assert!(empty.is_empty());
    assert!(empty.size_report().layers.is_empty());
}

/// Every proper prefix of a file is a truncation error.
#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = linear(Some(1), true, 40).to_bytes().unwrap();
    for cut in 0..bytes.len() {
        match PackedLinear::from_bytes(&bytes[..cut]) {
            Err(Error::Kernel(AmqError::Truncated { needed, available })) => {
                assert_eq!(available, cut as u64);
                assert!(needed > available);
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // On disk as well, and for a model file.
    let model_bytes = PackedLm::new(41).to_model().unwrap().to_bytes().unwrap();
    let path = temp_path("truncated");
    for cut in [
        0,
        1,
        PREAMBLE_LEN - 1,
        PREAMBLE_LEN,
        PREAMBLE_LEN + 9,
        model_bytes.len() / 2,
    ]
    .into_iter()
    .chain([model_bytes.len() - 1])
    {
        std::fs::write(&path, &model_bytes[..cut]).unwrap();
        assert!(
            matches!(
                PackedModel::load(&path),
                Err(Error::Kernel(AmqError::Truncated { .. }))
            ),
            "cut at {cut}"
        );
    }
    std::fs::remove_file(&path).unwrap();
}

/// Flipping any bit pattern in any byte is caught; past the preamble, by the checksum.
#[test]
fn every_byte_flip_is_a_typed_error() {
    let bytes = lstm(Some(1), true, 42).to_bytes().unwrap();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            let result = PackedLstm::from_bytes(&bad);
            if i >= PREAMBLE_LEN {
                assert!(
                    matches!(
                        result,
                        Err(Error::Kernel(AmqError::ChecksumMismatch { .. }))
                    ),
                    "byte {i} mask {mask:#x}: {result:?}"
                );
            } else {
                assert!(
                    matches!(result, Err(Error::Kernel(_))),
                    "byte {i} mask {mask:#x}: {result:?}"
                );
            }
        }
    }
}

/// Re-encodes `file` after `edit` (a valid container holding edited contents).
fn edited(bytes: &[u8], edit: impl FnOnce(&mut PackedFile)) -> Vec<u8> {
    let mut file = PackedFile::from_bytes(bytes).unwrap();
    edit(&mut file);
    file.to_bytes()
}

#[test]
fn wrong_versions_and_kinds_are_typed_errors() {
    let bytes = linear(Some(2), true, 43).to_bytes().unwrap();

    // Container version (preamble bytes 8..12), with a consistent checksum.
    let mut bad = bytes.clone();
    bad[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        PackedLinear::from_bytes(&bad).unwrap_err(),
        Error::Kernel(AmqError::UnsupportedVersion {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        })
    );

    // burn-amq model-format version.
    let bad = edited(&bytes, |f| {
        f.insert_meta(VERSION_KEY, (MODEL_FORMAT_VERSION + 1).to_string());
    });
    assert_eq!(
        PackedLinear::from_bytes(&bad).unwrap_err(),
        Error::UnsupportedModelVersion {
            found: MODEL_FORMAT_VERSION + 1,
            supported: MODEL_FORMAT_VERSION
        }
    );
    let bad = edited(&bytes, |f| {
        f.insert_meta(VERSION_KEY, "one");
    });
    assert!(matches!(
        PackedLinear::from_bytes(&bad),
        Err(Error::InvalidMetadata { key, .. }) if key == VERSION_KEY
    ));
    let mut no_version = PackedFile::new();
    no_version.insert_meta(KIND_KEY, KIND_LAYER);
    assert_eq!(
        PackedLinear::from_bytes(&no_version.to_bytes()).unwrap_err(),
        Error::MissingMetadata {
            key: VERSION_KEY.into()
        }
    );

    // A layer file read as a model, a model file read as a layer, a layer of another type.
    assert_eq!(
        PackedModel::from_bytes(&bytes).unwrap_err(),
        Error::WrongFileKind {
            expected: "packed_model",
            found: "packed_layer".into()
        }
    );
    let model = PackedLm::new(44).to_model().unwrap().to_bytes().unwrap();
    assert!(matches!(
        PackedLinear::from_bytes(&model),
        Err(Error::WrongFileKind { .. })
    ));
    assert_eq!(
        PackedGru::from_bytes(&bytes).unwrap_err(),
        Error::WrongLayerKind {
            layer: String::new(),
            expected: LayerKind::Gru,
            found: LayerKind::Linear
        }
    );
    let bad = edited(&bytes, |f| {
        f.insert_meta("type", "conv2d");
    });
    assert_eq!(
        PackedLinear::from_bytes(&bad).unwrap_err(),
        Error::UnknownLayerKind {
            layer: String::new(),
            found: "conv2d".into()
        }
    );
    let bad = edited(&model, |f| {
        f.insert_meta("lstm.type", "transformer");
    });
    assert_eq!(
        PackedModel::from_bytes(&bad).unwrap_err(),
        Error::UnknownLayerKind {
            layer: "lstm".into(),
            found: "transformer".into()
        }
    );
}

/// A linear layer file built by hand: `d_input = 5`, `d_output = 3`, lookup product.
fn hand_built(weight: PackedTensor, bias: PackedTensor) -> Vec<u8> {
    let mut file = PackedFile::new();
    for (k, v) in [
        (KIND_KEY, KIND_LAYER),
        (VERSION_KEY, "1"),
        ("type", "linear"),
        ("d_input", "5"),
        ("d_output", "3"),
        ("bias", "true"),
        ("weight.product", "lookup"),
    ] {
        file.insert_meta(k, v);
    }
    file.push("weight", weight).unwrap();
    file.push("bias", bias).unwrap();
    file.to_bytes()
}

fn planes(rows: usize, n: usize) -> PackedTensor {
    PackedTensor::BitPlanes(BitPlanes::zeros(rows, n, 2).unwrap())
}

fn f32s(len: usize) -> PackedTensor {
    PackedTensor::F32 {
        shape: vec![len],
        data: vec![0.5; len],
    }
}

#[test]
fn shapes_that_contradict_the_metadata_are_typed_errors() {
    // The hand-built file is right as it stands.
    let good = hand_built(planes(3, 5), f32s(3));
    let mut layer = PackedLinear::from_bytes(&good).unwrap();
    let mut out = [0.0; 3];
    layer.forward(&[1.0; 5], 1, &mut out).unwrap();
    assert_eq!(out, [0.5; 3]);

    for (weight, bias, tensor, expected, found) in [
        (planes(3, 4), f32s(3), "weight", vec![3, 5], vec![3, 4]),
        (planes(2, 5), f32s(3), "weight", vec![3, 5], vec![2, 5]),
        (planes(3, 5), f32s(2), "bias", vec![3], vec![2]),
        (
            planes(3, 5),
            PackedTensor::F32 {
                shape: vec![3, 1],
                data: vec![0.0; 3],
            },
            "bias",
            vec![3],
            vec![3, 1],
        ),
    ] {
        assert_eq!(
            PackedLinear::from_bytes(&hand_built(weight, bias)).unwrap_err(),
            Error::TensorShapeMismatch {
                tensor: tensor.into(),
                expected,
                found
            }
        );
    }
    assert_eq!(
        PackedLinear::from_bytes(&hand_built(f32s(15), f32s(3))).unwrap_err(),
        Error::WrongTensorKind {
            tensor: "weight".into(),
            expected: "bit_planes",
            found: "f32"
        }
    );
    assert_eq!(
        PackedLinear::from_bytes(&hand_built(planes(3, 5), planes(1, 3))).unwrap_err(),
        Error::WrongTensorKind {
            tensor: "bias".into(),
            expected: "f32",
            found: "bit_planes"
        }
    );
}

#[test]
fn missing_and_extra_tensors_are_typed_errors() {
    let bytes = gru(Some(2), false, 45).to_bytes().unwrap();
    for tensor in [
        "input_weight",
        "recurrent_update_reset_weight",
        "recurrent_new_weight",
        "bias",
    ] {
        let bad = edited(&bytes, |f| {
            *f = without(f, tensor);
        });
        assert_eq!(
            PackedGru::from_bytes(&bad).unwrap_err(),
            Error::MissingTensor {
                tensor: tensor.into()
            }
        );
    }
    let bad = edited(&bytes, |f| f.push("stray", f32s(2)).unwrap());
    assert_eq!(
        PackedGru::from_bytes(&bad).unwrap_err(),
        Error::UnusedTensor {
            tensor: "stray".into()
        }
    );
    // A bias flag of false leaves the bias tensor unused.
    let bad = edited(&bytes, |f| {
        f.insert_meta("bias", "false");
    });
    assert_eq!(
        PackedGru::from_bytes(&bad).unwrap_err(),
        Error::UnusedTensor {
            tensor: "bias".into()
        }
    );
    // In a model, names are prefixed.
    let model = PackedLm::new(46).to_model().unwrap().to_bytes().unwrap();
    let bad = edited(&model, |f| *f = without(f, "lstm.recurrent_weight"));
    assert_eq!(
        PackedModel::from_bytes(&bad).unwrap_err(),
        Error::MissingTensor {
            tensor: "lstm.recurrent_weight".into()
        }
    );
    let bad = edited(&model, |f| {
        f.insert_meta("layers", "embedding,lstm,decoder,head");
    });
    assert_eq!(
        PackedModel::from_bytes(&bad).unwrap_err(),
        Error::MissingMetadata {
            key: "head.type".into()
        }
    );
    let bad = edited(&model, |f| {
        f.insert_meta("layers", "embedding,lstm");
    });
    assert_eq!(
        PackedModel::from_bytes(&bad).unwrap_err(),
        Error::UnusedTensor {
            tensor: "decoder.weight".into()
        }
    );
    let bad = edited(&model, |f| {
        f.insert_meta("layers", "embedding,lstm,lstm,decoder");
    });
    assert_eq!(
        PackedModel::from_bytes(&bad).unwrap_err(),
        Error::DuplicateLayer {
            layer: "lstm".into()
        }
    );
    let bad = edited(&model, |f| {
        f.insert_meta("layers", "embedding,,decoder");
    });
    assert!(matches!(
        PackedModel::from_bytes(&bad),
        Err(Error::InvalidLayerName { .. })
    ));
}

/// A copy of `file` without tensor `name`.
fn without(file: &PackedFile, name: &str) -> PackedFile {
    let mut out = PackedFile::new();
    for (k, v) in file.metadata() {
        out.insert_meta(k.clone(), v.clone());
    }
    for (n, t) in file.tensors().filter(|(n, _)| *n != name) {
        out.push(n, t.clone()).unwrap();
    }
    out
}

#[test]
fn bad_metadata_values_are_typed_errors() {
    let lstm_bytes = lstm(Some(2), true, 47).to_bytes().unwrap();
    let gru_bytes = gru(Some(2), true, 48).to_bytes().unwrap();
    let gru_before = gru(None, false, 49).to_bytes().unwrap();
    let invalid = |bytes: &[u8], key: &str, value: &str| {
        let bad = edited(bytes, |f| {
            f.insert_meta(key, value);
        });
        [
            PackedLstm::from_bytes(&bad).err(),
            PackedGru::from_bytes(&bad).err(),
        ]
    };
    let cases: [(&[u8], &str, &str); 16] = [
        (&lstm_bytes, "d_hidden", "0"),
        (&lstm_bytes, "d_hidden", "-4"),
        (&lstm_bytes, "d_hidden", "four"),
        // 4 · d_hidden overflows usize: rejected before any arithmetic can wrap.
        (&lstm_bytes, "d_hidden", &usize::MAX.to_string()),
        (&lstm_bytes, "d_input", "99999999999999999999999"),
        (&lstm_bytes, "bias", "yes"),
        (&lstm_bytes, "input_weight.act_bits", "0"),
        (&lstm_bytes, "input_weight.act_bits", "9"),
        (&lstm_bytes, "input_weight.act_bits", "two"),
        (&lstm_bytes, "recurrent_weight.act_method", "uniform"),
        (&lstm_bytes, "recurrent_weight.act_method", "alternating:x"),
        (&lstm_bytes, "recurrent_weight.product", "exactly"),
        (&gru_bytes, "reset_after", "maybe"),
        (&gru_bytes, "d_hidden", &(usize::MAX / 2).to_string()),
        // The lookup product takes no activation quantizer.
        (&gru_before, "input_weight.act_bits", "2"),
        // A recurrent new-gate bias needs reset_after.
        (&gru_before, "recurrent_new_bias", "true"),
    ];
    for (bytes, key, value) in cases {
        let errors = invalid(bytes, key, value);
        assert!(
            errors.iter().any(|e| matches!(
                e,
                Some(Error::InvalidMetadata { key: k, value: v, .. }) if k == key && v == value
            )),
            "{key} = {value}: {errors:?}"
        );
    }
    // Every required key, removed in turn, is reported by name.
    let file = PackedFile::from_bytes(&lstm_bytes).unwrap();
    for key in file.metadata().keys() {
        let mut bad = PackedFile::new();
        for (k, v) in file.metadata().iter().filter(|(k, _)| *k != key) {
            bad.insert_meta(k.clone(), v.clone());
        }
        for (n, t) in file.tensors() {
            bad.push(n, t.clone()).unwrap();
        }
        assert_eq!(
            PackedLstm::from_bytes(&bad.to_bytes()).unwrap_err(),
            Error::MissingMetadata { key: key.clone() },
        );
    }
}

/// The weight-only figures of a bias-free `[rows, n]` matrix at `bits`, from the formula.
fn expected_weight_bytes(rows: usize, n: usize, bits: usize) -> usize {
    rows * bits * (n.div_ceil(64) * 8 + 4)
}

#[test]
fn size_report_of_a_4096_by_1024_matrix_follows_the_formula() {
    let (rows, n) = (4096, 1024);
    for bits in [2usize, 3] {
        let layer = QuantLinearConfig::new(n, rows)
            .with_bias(false)
            .with_weight_bits(Some(bits))
            .with_method(QuantMethod::Greedy)
            .init(&Device::flex())
            .unwrap()
            .pack()
            .unwrap();
        let r = layer.size_report();
        let packed = expected_weight_bytes(rows, n, bits);
        assert_eq!(r.weights, rows * n);
        assert_eq!(r.biases, 0);
        assert_eq!(r.weight_f32_bytes(), rows * n * 4);
        assert_eq!(r.weight_packed_bytes(), packed);
        assert_eq!(r.f32_bytes(), rows * n * 4);
        assert_eq!(r.packed_bytes(), packed);
        let per_row_ratio = (n * 4) as f64 / (bits * (n / 64 * 8 + 4)) as f64;
        assert!((r.weight_ratio() - per_row_ratio).abs() < 1e-12);
        assert!((r.ratio() - per_row_ratio).abs() < 1e-12);
        let bpw = bits as f64 * (1.0 + 32.0 / n as f64);
        assert!((r.bits_per_weight() - bpw).abs() < 1e-12);
        // The figures: 4096 B / 264 B = 15.5× at 2 bits, 4096 / 396 = 10.3× at 3.
        let rounded = (r.weight_ratio() * 10.0).round() / 10.0;
        assert_eq!(rounded, if bits == 2 { 15.5 } else { 10.3 });
        println!("{bits} bits: {r}");
    }
}

#[test]
fn size_reports_count_every_stored_part() {
    let l = lstm(Some(2), true, 50).size_report();
    assert_eq!(l.weights, 4 * H * (D_IN + H));
    assert_eq!(l.biases, 4 * H);
    assert_eq!(
        l.weight_packed_bytes(),
        expected_weight_bytes(4 * H, D_IN, 3) + expected_weight_bytes(4 * H, H, 3)
    );
    assert_eq!(l.packed_bytes(), l.weight_packed_bytes() + 16 * H);
    assert_eq!(l.f32_bytes(), 4 * (l.weights + l.biases));
    assert!((l.ratio() - l.f32_bytes() as f64 / l.packed_bytes() as f64).abs() < 1e-12);

    for reset_after in [true, false] {
        let g = gru(Some(2), reset_after, 51).size_report();
        assert_eq!(g.weights, 3 * H * (D_IN + H));
        // Input bias [3h], plus the recurrent new-gate bias [h] with reset_after.
        assert_eq!(g.biases, 3 * H + if reset_after { H } else { 0 });
        assert_eq!(
            g.weight_packed_bytes(),
            expected_weight_bytes(3 * H, D_IN, 2) + expected_weight_bytes(3 * H, H, 2)
        );
    }
    let e = embedding(52).size_report();
    assert_eq!(e.weights, 7 * D_IN);
    assert_eq!(e.packed_bytes(), expected_weight_bytes(7, D_IN, 3));

    let lm = PackedLm::new(53).to_model().unwrap();
    let report = lm.size_report();
    let by_layer: Vec<SizeReport> = report.layers.iter().map(|(_, _, r)| *r).collect();
    assert_eq!(report.total, by_layer.iter().copied().sum::<SizeReport>());
    assert_eq!(
        report
            .layers
            .iter()
            .map(|(n, k, _)| (n.as_str(), *k))
            .collect::<Vec<_>>(),
        [
            ("embedding", LayerKind::Embedding),
            ("lstm", LayerKind::Lstm),
            ("decoder", LayerKind::Linear)
        ]
    );
    let table = report.to_string();
    assert_eq!(table.lines().count(), 2 + 3 + 1);
    assert!(table.lines().last().unwrap().starts_with("| total |"));
}

/// A file is its packed bytes plus the preamble, the JSON header and ≤ 7 bytes of alignment
/// padding per tensor part.
#[test]
fn file_length_is_packed_bytes_plus_a_small_header() {
    let layers: Vec<(Vec<u8>, SizeReport, usize)> = vec![
        {
            let l = linear(Some(2), true, 60);
            (l.to_bytes().unwrap(), l.size_report(), 3)
        },
        {
            let l = lstm(None, true, 61);
            (l.to_bytes().unwrap(), l.size_report(), 5)
        },
        {
            let l = gru(Some(1), false, 62);
            (l.to_bytes().unwrap(), l.size_report(), 7)
        },
        {
            let m = PackedLm::new(63).to_model().unwrap();
            let r = m.size_report().total;
            (m.to_bytes().unwrap(), r, 10)
        },
    ];
    for (bytes, report, parts) in layers {
        let preamble = Preamble::parse(&bytes).unwrap();
        let header = preamble.header_len as usize;
        let len = bytes.len();
        assert!(len >= report.packed_bytes());
        let padding = len - PREAMBLE_LEN - header - report.packed_bytes();
        assert!(padding <= 7 * parts, "padding {padding} for {parts} parts");
        // The header is small: well under a kilobyte per tensor.
        assert!(
            header <= 400 + 250 * parts,
            "header {header} for {parts} parts"
        );
    }
}
