//! Clear, typed errors for the ways a user can get the inputs wrong.

mod common;

use burn_amq_examples::Error;
use burn_amq_examples::commands::common::{DataArgs, trainable_method};
use burn_amq_examples::data::{Vocabulary, load_corpus};
use burn_amq_examples::pipeline::{load_fp, load_quant, train_fp};
use burn_amq_examples::train::RunDir;
use common::*;

#[test]
fn missing_data_directory() {
    let absent = scratch("no-data").join("ptb");
    let err = DataArgs {
        data: Some(absent.clone()),
    }
    .resolve()
    .unwrap_err();
    assert!(
        matches!(&err, Error::MissingDataDir { path } if *path == absent),
        "{err}"
    );
    assert!(err.to_string().contains("--data"), "{err}");
    assert!(matches!(
        load_corpus(&absent, None),
        Err(Error::MissingDataDir { .. })
    ));
}

#[test]
fn data_directory_without_a_split() {
    let dir = scratch("partial-data");
    std::fs::write(dir.join("ptb.train.txt"), " a b \n").unwrap();
    std::fs::write(dir.join("ptb.valid.txt"), " a \n").unwrap();
    let err = load_corpus(&dir, None).unwrap_err();
    assert!(
        matches!(err, Error::MissingSplit { split: "test", .. }),
        "{err}"
    );
}

#[test]
fn corrupt_checkpoint_when_resuming() {
    let (run, _) = trained_fp_run();
    let run = copy_run(run, "corrupt-resume");
    let epoch = run.latest_checkpoint().unwrap();
    let path = run.checkpoint_dir().join(format!("model-{epoch}.bpk"));
    std::fs::write(&path, b"definitely not a burnpack file").unwrap();
    let corpus = tiny_corpus();
    let err = train_fp(
        &corpus,
        &tiny_lm(corpus.vocab.len()),
        &tiny_recipe(epoch + 1),
        &run,
        quiet(true),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Checkpoint { path: p, .. } if *p == path),
        "{err}"
    );
}

#[test]
fn corrupt_or_truncated_model_file() {
    let (run, _) = trained_fp_run();
    let run = copy_run(run, "corrupt-model");
    let bytes = std::fs::read(run.model_file()).unwrap();
    std::fs::write(run.model_file(), &bytes[..bytes.len() / 2]).unwrap();
    let err = load_fp(&run).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    std::fs::remove_file(run.model_file()).unwrap();
    assert!(matches!(load_fp(&run), Err(Error::Checkpoint { .. })));
}

#[test]
fn vocabulary_that_does_not_fit_the_model() {
    let (run, _) = trained_fp_run();
    let run = copy_run(run, "vocab-mismatch");
    let vocab = Vocabulary::load(&run.file("vocab.txt")).unwrap();
    let mut words = vocab.words().to_vec();
    words.push("an-extra-word".into());
    Vocabulary::from_words(words, &run.file("vocab.txt"))
        .unwrap()
        .save(&run.file("vocab.txt"))
        .unwrap();
    let err = load_fp(&run).unwrap_err();
    assert!(
        matches!(err, Error::VocabularyMismatch { expected, found, .. } if found == expected + 1),
        "{err}"
    );
}

#[test]
fn resuming_with_another_vocabulary() {
    let (run, _) = trained_fp_run();
    let run = copy_run(run, "vocab-resume");
    let corpus = burn_amq_examples::data::EncodedCorpus::build(&tiny_text(), Some(300)).unwrap();
    let err = train_fp(
        &corpus,
        &tiny_lm(corpus.vocab.len()),
        &tiny_recipe(5),
        &run,
        quiet(true),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Checkpoint { .. } | Error::VocabularyMismatch { .. }
        ),
        "{err}"
    );
}

#[test]
fn not_a_finetuned_run_and_untrainable_methods() {
    let (run, _) = trained_fp_run();
    assert!(matches!(load_quant(run), Err(Error::Checkpoint { .. })));
    assert!(matches!(
        load_fp(&RunDir::new(scratch("empty-run").join("nothing"))),
        Err(Error::Checkpoint { .. })
    ));
    assert!(matches!(
        trainable_method("uniform"),
        Err(Error::Amq(burn_amq::Error::UntrainableMethod {
            method: "uniform"
        }))
    ));
    assert!(matches!(trainable_method("bogus"), Err(Error::Kernel(_))));
    assert!(trainable_method("alternating:3").is_ok());
}

#[test]
fn packed_model_directory_errors() {
    use burn_amq_examples::model::{PackedLanguageModel, QuantSpec};
    use burn_amq_examples::packed_dir::PackedDir;
    use burn_amq_examples::pipeline::finetune;

    // No model file.
    let empty = PackedDir::new(scratch("packed-empty"));
    assert!(matches!(empty.load(), Err(Error::Checkpoint { .. })));

    let (fp_run, _) = trained_fp_run();
    let corpus = tiny_corpus();
    let run = RunDir::new(scratch("packed-errors-qat"));
    let outcome = finetune(
        fp_run,
        &corpus,
        &QuantSpec::new(),
        &tiny_recipe(1),
        &run,
        quiet(false),
    )
    .unwrap();
    let packed = PackedLanguageModel::from_quantized(&outcome.model).unwrap();
    let dir = PackedDir::new(scratch("packed-errors"));
    dir.save(&packed, &corpus.vocab).unwrap();
    assert!(dir.load().is_ok());

    // A vocabulary of another size.
    let words = corpus.vocab.words();
    let shorter =
        Vocabulary::from_words(words[..words.len() - 1].to_vec(), &dir.vocab_file()).unwrap();
    shorter.save(&dir.vocab_file()).unwrap();
    let err = dir.load().unwrap_err();
    assert!(matches!(err, Error::VocabularyMismatch { .. }), "{err}");
    corpus.vocab.save(&dir.vocab_file()).unwrap();

    // A flipped byte in the middle and a truncated file: typed file errors, no panic.
    let bytes = std::fs::read(dir.model_file()).unwrap();
    let mut corrupted = bytes.clone();
    let mid = corrupted.len() / 2;
    corrupted[mid] ^= 0x40;
    std::fs::write(dir.model_file(), &corrupted).unwrap();
    let err = dir.load().unwrap_err();
    assert!(matches!(err, Error::Amq(_)), "{err}");
    std::fs::write(dir.model_file(), &bytes[..bytes.len() - 9]).unwrap();
    let err = dir.load().unwrap_err();
    assert!(matches!(err, Error::Amq(_)), "{err}");

    // A packed file of something else (one layer, no language-model tag).
    let mut other = burn_amq::packed::PackedModel::new();
    let linear = burn_amq::nn::QuantLinearConfig::new(4, 3)
        .init(&burn::prelude::Device::flex())
        .unwrap()
        .pack()
        .unwrap();
    other.insert("decoder", linear).unwrap();
    other.save(dir.model_file()).unwrap();
    let err = dir.load().unwrap_err();
    assert!(matches!(err, Error::Amq(_)), "{err}");
}

#[test]
fn resuming_a_finetuned_run_with_other_settings() {
    use burn_amq_examples::model::QuantSpec;
    use burn_amq_examples::pipeline::finetune;
    use burn_amq_examples::train::FINETUNE_SETUP_FILE;

    let (fp_run, _) = trained_fp_run();
    let corpus = tiny_corpus();
    let run = RunDir::new(scratch("qat-resume-settings"));
    let spec = QuantSpec::new();
    let mut clamped = quiet(false);
    clamped.shadow_clip = Some(1.0);
    finetune(fp_run, &corpus, &spec, &tiny_recipe(1), &run, clamped).unwrap();
    assert!(run.file(FINETUNE_SETUP_FILE).is_file());

    // Another clamp, or none: refused, naming the flag the run was started with.
    let mut resumed = clamped;
    resumed.resume = true;
    for (other, flag) in [(None, "--no-shadow-clip"), (Some(2.0), "--shadow-clip 2")] {
        let mut options = resumed;
        options.shadow_clip = other;
        let err = finetune(fp_run, &corpus, &spec, &tiny_recipe(2), &run, options).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, Error::Checkpoint { path, .. } if path.ends_with(FINETUNE_SETUP_FILE)),
            "{err}"
        );
        assert!(
            text.contains("--shadow-clip 1") && text.contains(flag),
            "{text}"
        );
    }
    // Another fine-tuning dropout: refused, naming both.
    let mut lighter = resumed;
    lighter.dropout = Some(0.3);
    let err = finetune(fp_run, &corpus, &spec, &tiny_recipe(2), &run, lighter).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, Error::Checkpoint { path, .. } if path.ends_with(FINETUNE_SETUP_FILE)),
        "{err}"
    );
    assert!(text.contains("--dropout 0.3"), "{text}");
    // A dropout outside [0, 1): refused before anything is written.
    for bad in [1.0, -0.1, f64::NAN] {
        let mut options = quiet(false);
        options.dropout = Some(bad);
        let other = RunDir::new(scratch("qat-bad-dropout"));
        let err = finetune(fp_run, &corpus, &spec, &tiny_recipe(1), &other, options).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(!other.file(FINETUNE_SETUP_FILE).exists());
    }
    // A lighter dropout is what the fine-tuned model trains with, also after a resume
    // (loading the checkpoint keeps the module's dropout).
    let light_run = RunDir::new(scratch("qat-light-dropout"));
    let mut light = quiet(false);
    light.dropout = Some(0.2);
    let outcome = finetune(fp_run, &corpus, &spec, &tiny_recipe(1), &light_run, light).unwrap();
    assert_eq!(outcome.model.dropout.prob, 0.2);
    light.resume = true;
    let outcome = finetune(fp_run, &corpus, &spec, &tiny_recipe(2), &light_run, light).unwrap();
    assert_eq!(outcome.history.len(), 2);
    assert_eq!(outcome.model.dropout.prob, 0.2);
    // Other bits: refused as well.
    let err = finetune(
        fp_run,
        &corpus,
        &spec.clone().with_weight_bits(3),
        &tiny_recipe(2),
        &run,
        resumed,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Checkpoint { path, .. } if path.ends_with("quant.json")),
        "{err}"
    );
    // The refused attempts left the recorded settings alone; the same flags resume.
    let outcome = finetune(fp_run, &corpus, &spec, &tiny_recipe(2), &run, resumed).unwrap();
    assert_eq!(outcome.history.len(), 2);
    let max_abs = |t: burn::prelude::Tensor<2>| -> f32 { t.abs().max().into_scalar() };
    assert!(max_abs(outcome.model.decoder.weight.val()) <= 1.0);
}
