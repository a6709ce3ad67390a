//! `ptb export`: compact model directories that fine-tuning and evaluation read like runs.

mod common;

use std::sync::{Mutex, MutexGuard, PoisonError};

use burn::prelude::Tensor;
use burn_amq_examples::Error;
use burn_amq_examples::data::Split;
use burn_amq_examples::export::{StoredPrecision, export_run, read_export_info};
use burn_amq_examples::model::QuantSpec;
use burn_amq_examples::pipeline::{
    finetune, load_fp, load_quant, packed_perplexity, relative_gap, split_perplexity,
};
use burn_amq_examples::train::RunDir;
use common::*;

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Training draws dropout masks from Burn's global generator, so runs that must match
/// bit for bit cannot overlap another test's training: the tests of this file take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn file_len(run: &RunDir) -> u64 {
    std::fs::metadata(run.model_file()).unwrap().len()
}

#[test]
fn f16_export_halves_the_weights_and_keeps_the_model() {
    let _turn = serial();
    let (run, history) = trained_fp_run();
    let out = RunDir::new(scratch("export-f16"));
    let info = export_run(run, &out, StoredPrecision::F16).unwrap();
    assert_eq!(info.precision, StoredPrecision::F16);
    assert_eq!(info.epochs, history.len());
    assert!(!info.quantized);
    assert_eq!(read_export_info(&out).unwrap(), Some(info));
    assert_eq!(read_export_info(run).unwrap(), None);
    // Burnpack adds a header and names; the tensors are half the bytes.
    let ratio = file_len(&out) as f64 / file_len(run) as f64;
    assert!((0.45..0.6).contains(&ratio), "size ratio {ratio}");
    assert!(out.file("history.json").is_file() && out.file("train.log").is_file());

    let (lm, vocab, original) = load_fp(run).unwrap();
    let (lm_out, vocab_out, exported) = load_fp(&out).unwrap();
    assert_eq!((lm_out, vocab_out), (lm, vocab));
    // Each weight is the original rounded to f16: 11 significant bits.
    let a = values(original.decoder.weight.val());
    let b = values(exported.decoder.weight.val());
    assert_eq!(a.len(), b.len());
    let mut changed = 0;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(*y, half::f16::from_f32(*x).to_f32(), "{x} stored as {y}");
        changed += usize::from(x != y);
    }
    assert!(
        changed > a.len() / 2,
        "only {changed} of {} rounded",
        a.len()
    );

    let corpus = tiny_corpus();
    let ppl = |m| {
        split_perplexity(m, &corpus, Split::Test, 4, 12)
            .unwrap()
            .value()
    };
    let (p32, p16) = (ppl(&original), ppl(&exported));
    assert!(relative_gap(p16, p32) < 1e-3, "f16 {p16} vs f32 {p32}");
}

#[test]
fn f32_export_is_exact_and_fine_tuning_starts_from_an_export() {
    let _turn = serial();
    let (run, _) = trained_fp_run();
    let out = RunDir::new(scratch("export-f32"));
    export_run(run, &out, StoredPrecision::F32).unwrap();
    let (_, _, original) = load_fp(run).unwrap();
    let (_, _, exported) = load_fp(&out).unwrap();
    assert_eq!(
        values(exported.embedding.weight.val()),
        values(original.embedding.weight.val())
    );
    // An export has no training state: it cannot be resumed.
    assert_eq!(out.latest_checkpoint(), None);

    // Fine-tuning from the export and from the run gives the same model (same seed).
    let corpus = tiny_corpus();
    let spec = QuantSpec::new();
    let tune = |from: &RunDir, name: &str| {
        let dir = RunDir::new(scratch(name));
        finetune(from, &corpus, &spec, &tiny_recipe(1), &dir, quiet(false)).unwrap();
        load_quant(&dir).unwrap().3
    };
    let from_run = tune(run, "tune-from-run");
    let from_export = tune(&out, "tune-from-export");
    assert_eq!(
        values(from_export.decoder.weight.val()),
        values(from_run.decoder.weight.val())
    );
}

#[test]
fn export_of_a_finetuned_run_keeps_its_quantization() {
    let _turn = serial();
    let (fp_run, _) = trained_fp_run();
    let corpus = tiny_corpus();
    let spec = QuantSpec::new().with_weight_bits(3).with_act_bits(Some(3));
    let tuned = RunDir::new(scratch("export-qat-run"));
    finetune(
        fp_run,
        &corpus,
        &spec,
        &tiny_recipe(1),
        &tuned,
        quiet(false),
    )
    .unwrap();
    let out = RunDir::new(scratch("export-qat"));
    let info = export_run(&tuned, &out, StoredPrecision::F16).unwrap();
    assert!(info.quantized);
    let (_, spec_out, _, model) = load_quant(&out).unwrap();
    assert_eq!(spec_out, spec);
    let (_, _, _, original) = load_quant(&tuned).unwrap();
    let ppl = |m| {
        split_perplexity(m, &corpus, Split::Test, 4, 12)
            .unwrap()
            .value()
    };
    let (fake_out, fake) = (ppl(&model), ppl(&original));
    // Rounding the shadow weights to f16 can flip a code near a threshold; the model stays
    // close.
    assert!(relative_gap(fake_out, fake) < 1e-2, "{fake_out} vs {fake}");
    let mut packed = burn_amq_examples::model::PackedLanguageModel::from_quantized(&model).unwrap();
    let packed_ppl = packed_perplexity(&mut packed, &corpus, Split::Test, 4)
        .unwrap()
        .value();
    assert!(relative_gap(packed_ppl, fake_out) < 5e-3);
}

#[test]
fn export_refuses_bad_directories() {
    let _turn = serial();
    let (run, _) = trained_fp_run();
    let out = RunDir::new(scratch("export-twice"));
    export_run(run, &out, StoredPrecision::F16).unwrap();
    let err = export_run(run, &out, StoredPrecision::F16).unwrap_err();
    assert!(
        matches!(&err, Error::Checkpoint { path, .. } if *path == out.model_file()),
        "{err}"
    );
    let missing = RunDir::new(scratch("export-missing").join("absent"));
    let err = export_run(
        &missing,
        &RunDir::new(scratch("export-x")),
        StoredPrecision::F16,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    let err = export_run(run, run, StoredPrecision::F16).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    // A truncated export is reported like a truncated run.
    let bytes = std::fs::read(out.model_file()).unwrap();
    std::fs::write(out.model_file(), &bytes[..bytes.len() / 3]).unwrap();
    assert!(matches!(load_fp(&out), Err(Error::Checkpoint { .. })));
}
