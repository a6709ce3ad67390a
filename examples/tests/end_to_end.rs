//! Train → fine-tune → pack → evaluate → generate on a slice of the embedded corpus.

mod common;

use burn_amq_examples::data::Split;
use burn_amq_examples::generate::generate;
use burn_amq_examples::model::{PackedLanguageModel, QuantLanguageModel, QuantSpec};
use burn_amq_examples::packed_dir::PackedDir;
use burn_amq_examples::pipeline::{
    PACKED_TOLERANCE, finetune, load_fp, load_quant, packed_perplexity, relative_gap,
    split_perplexity, train_fp,
};
use burn_amq_examples::train::{EpochSummary, RunDir};
use common::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn training_lowers_the_loss_and_saves_the_best_model() {
    let (run, history) = trained_fp_run();
    assert_eq!(history.len(), 3);
    assert_eq!(
        history.iter().map(|e| e.epoch).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let corpus = tiny_corpus();
    let vocab = corpus.vocab.len() as f64;
    // A uniform model has perplexity = vocabulary size; training must beat it clearly and
    // improve from the first epoch to the last.
    assert!(history[2].train_ppl < history[0].train_ppl, "{history:?}");
    assert!(history[2].valid_ppl < 0.5 * vocab, "{history:?}");
    let (_, _, model) = load_fp(run).expect("load");
    let valid = split_perplexity(&model, &corpus, Split::Valid, 4, 12).unwrap();
    let best = history
        .iter()
        .map(|e| e.valid_ppl)
        .fold(f64::INFINITY, f64::min);
    // model.bpk is the best epoch; the learner's validation used the same streams.
    assert!(
        relative_gap(valid.value(), best) < 1e-3,
        "{} vs {best}",
        valid.value()
    );
    assert!(run.file("train.log").is_file());
    assert!(run.latest_checkpoint().is_some());
}

#[test]
fn shadow_clip_bounds_the_shadow_weights_and_rejects_bad_bounds() {
    let (fp_run, _) = trained_fp_run();
    let corpus = tiny_corpus();
    let (_, _, fp) = load_fp(fp_run).unwrap();
    let max_abs = |t: burn::prelude::Tensor<2>| -> f32 { t.abs().max().into_scalar() };
    // A bound below the trained weights' magnitude, so that the clamp visibly acts.
    let bound = 0.5 * max_abs(fp.decoder.weight.val());
    let run = RunDir::new(scratch("qat-clip-run"));
    let mut options = quiet(false);
    options.shadow_clip = Some(bound);
    let outcome = finetune(
        fp_run,
        &corpus,
        &QuantSpec::new(),
        &tiny_recipe(1),
        &run,
        options,
    )
    .unwrap();
    assert!(max_abs(outcome.model.decoder.weight.val()) <= bound);
    assert!(max_abs(outcome.model.embedding.weight.val()) <= bound);

    let parent = scratch("qat-bad-clip");
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let run = RunDir::new(parent.join("run"));
        options.shadow_clip = Some(bad);
        let err = finetune(
            fp_run,
            &corpus,
            &QuantSpec::new(),
            &tiny_recipe(1),
            &run,
            options,
        )
        .unwrap_err();
        assert!(
            matches!(err, burn_amq_examples::Error::InvalidArgument(_)),
            "{bad}: {err}"
        );
        assert!(!run.path().exists(), "{bad}: the run directory was created");
    }
}

#[test]
fn finetuned_packed_model_matches_fake_quantization() {
    let (fp_run, _) = trained_fp_run();
    let corpus = tiny_corpus();
    let spec = QuantSpec::new(); // 2-bit weights, 2-bit activations, alternating
    let run = RunDir::new(scratch("qat-run"));
    let mut options = quiet(false);
    options.shadow_clip = Some(1.0);
    let outcome = finetune(fp_run, &corpus, &spec, &tiny_recipe(2), &run, options).unwrap();
    assert_eq!(outcome.history.len(), 2);
    assert!(outcome.history[1].train_ppl < outcome.history[0].train_ppl * 1.05);

    // Shadow weights stay in [-1, 1].
    let max_abs = |t: burn::prelude::Tensor<2>| -> f32 { t.abs().max().into_scalar() };
    assert!(max_abs(outcome.model.embedding.weight.val()) <= 1.0);
    assert!(max_abs(outcome.model.decoder.weight.val()) <= 1.0);

    let (_, spec_loaded, vocab, model) = load_quant(&run).unwrap();
    assert_eq!(spec_loaded, spec);
    let (fake, packed_ppl, mut packed) = packed_matching_fake("lstm-w2a2", &model, &corpus);
    assert!(fake < vocab.len() as f64, "{fake}");
    // 2-bit planes plus one f32 coefficient per row and plane: at least 4x smaller even for
    // these 32-wide rows (one 64-bit word per row and plane).
    assert!(packed.storage_bytes() * 4 < burn_amq_examples::pipeline::f32_bytes(&model));

    let mut rng = StdRng::seed_from_u64(3);
    let mut words = Vec::new();
    let ids = generate(&mut packed, &vocab, &[], 15, 1.0, &mut rng, |w| {
        words.push(w.to_owned())
    })
    .unwrap();
    assert_eq!(ids.len(), 15);
    assert_eq!(words.len(), 15);
    assert!(ids.iter().all(|&i| i != vocab.unk_id()));

    // The packed file (as `ptb finetune` writes it) loads into the same model: same
    // perplexity to the last bit, same size, and the same sampled text.
    let dir = PackedDir::new(scratch("qat-packed"));
    dir.save(&packed, &vocab).unwrap();
    let (mut loaded, loaded_vocab) = dir.load().unwrap();
    assert_eq!(loaded_vocab, vocab);
    assert_eq!(loaded.size_report(), packed.size_report());
    let loaded_ppl = packed_perplexity(&mut loaded, &corpus, Split::Test, 4)
        .unwrap()
        .value();
    assert_eq!(loaded_ppl.to_bits(), packed_ppl.to_bits());
    let mut rng = StdRng::seed_from_u64(3);
    let again = generate(&mut loaded, &vocab, &[], 15, 1.0, &mut rng, |_| {}).unwrap();
    assert_eq!(again, ids);
}

/// The resumed history is read back from `history.json`; serde_json's default float parser
/// may land one ulp off, so floats are compared to 1e-12 relative and the rest exactly.
fn assert_same_epoch(a: &EpochSummary, b: &EpochSummary) {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs());
    assert_eq!(
        (a.epoch, a.steps, a.best),
        (b.epoch, b.steps, b.best),
        "{a:?} vs {b:?}"
    );
    for (x, y) in [
        (a.train_ppl, b.train_ppl),
        (a.valid_ppl, b.valid_ppl),
        (a.lr, b.lr),
        (a.next_lr, b.next_lr),
        (a.seconds, b.seconds),
        (a.ms_per_step, b.ms_per_step),
    ] {
        assert!(close(x, y), "{a:?} vs {b:?}");
    }
}

#[test]
fn resume_continues_after_the_last_checkpoint() {
    let corpus = tiny_corpus();
    let lm = tiny_lm(corpus.vocab.len());
    let run = RunDir::new(scratch("resume-run"));
    let first = train_fp(&corpus, &lm, &tiny_recipe(1), &run, quiet(false)).unwrap();
    assert_eq!(first.history.len(), 1);
    assert_eq!(run.latest_checkpoint(), Some(1));
    let resumed = train_fp(&corpus, &lm, &tiny_recipe(2), &run, quiet(true)).unwrap();
    assert_eq!(
        resumed.history.iter().map(|e| e.epoch).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_same_epoch(&resumed.history[0], &first.history[0]);
    assert_eq!(run.latest_checkpoint(), Some(2));
    // The schedule was restored: epoch 2 started from epoch 1's next learning rate.
    assert_eq!(resumed.history[1].lr, first.history[0].next_lr);

    // A restart rate replaces the saved one for the resumed epochs only.
    let restart = tiny_recipe(3).with_restart_lr(Some(0.125));
    assert!(matches!(
        train_fp(
            &corpus,
            &lm,
            &restart,
            &RunDir::new(scratch("restart-fresh")),
            quiet(false)
        ),
        Err(burn_amq_examples::Error::InvalidArgument(_))
    ));
    let restarted = train_fp(&corpus, &lm, &restart, &run, quiet(true)).unwrap();
    assert_eq!(restarted.history.len(), 3);
    assert_same_epoch(&restarted.history[1], &resumed.history[1]);
    assert_eq!(restarted.history[2].lr, 0.125);
}

#[test]
fn gru_and_weights_only_models_pack_consistently() {
    let corpus = tiny_corpus();
    let lm = tiny_lm(corpus.vocab.len()).with_cell(burn_amq_examples::model::CellKind::Gru);
    let fp_run = RunDir::new(scratch("gru-fp"));
    train_fp(&corpus, &lm, &tiny_recipe(1), &fp_run, quiet(false)).unwrap();
    let mut options = quiet(false);
    options.shadow_clip = Some(1.0);
    for (name, spec) in [
        // Both activation products on popcounts (the input re-quantized too).
        (
            "gru-w2a2-input",
            QuantSpec::new().with_quantize_rnn_input(true),
        ),
        // Weights only: every product on lookup tables over f32 inputs.
        (
            "gru-w3",
            QuantSpec::new().with_weight_bits(3).with_act_bits(None),
        ),
    ] {
        let run = RunDir::new(scratch(name));
        let outcome = finetune(&fp_run, &corpus, &spec, &tiny_recipe(1), &run, options).unwrap();
        packed_matching_fake(name, &outcome.model, &corpus);
    }
}

#[test]
fn wider_decoder_bits_reach_the_decoder_and_its_packed_form() {
    let (fp_run, _) = trained_fp_run();
    let corpus = tiny_corpus();
    let spec = QuantSpec::new().with_decoder_weight_bits(Some(8));
    let run = RunDir::new(scratch("qat-decoder-bits"));
    let outcome = finetune(fp_run, &corpus, &spec, &tiny_recipe(1), &run, quiet(false)).unwrap();
    let bits = |q: Option<burn_amq::Quantizer>| q.map(|q| q.bits());
    assert_eq!(bits(outcome.model.decoder.weight_quantizer()), Some(8));
    assert_eq!(bits(outcome.model.embedding.weight_quantizer()), Some(2));

    let (_, spec_loaded, _, model) = load_quant(&run).unwrap();
    assert_eq!(spec_loaded, spec);
    let (_, _, packed) = packed_matching_fake("lstm-w2a2-decoder8", &model, &corpus);
    // The 8-bit decoder keeps 8 planes per row: more storage than the all-2-bit model.
    let narrow = PackedLanguageModel::from_quantized(
        &QuantLanguageModel::from_fp(&load_fp(fp_run).unwrap().2, &QuantSpec::new()).unwrap(),
    )
    .unwrap();
    assert!(packed.storage_bytes() > narrow.storage_bytes());
}

/// Packs `model` and asserts that the packed test perplexity agrees with the fake-quantized
/// one within [`PACKED_TOLERANCE`] (`name` labels the message); returns both perplexities
/// (fake-quantized, packed) and the packed model.
fn packed_matching_fake(
    name: &str,
    model: &QuantLanguageModel,
    corpus: &burn_amq_examples::data::EncodedCorpus,
) -> (f64, f64, PackedLanguageModel) {
    let fake = split_perplexity(model, corpus, Split::Test, 4, 12)
        .unwrap()
        .value();
    let mut packed = PackedLanguageModel::from_quantized(model).unwrap();
    let packed_ppl = packed_perplexity(&mut packed, corpus, Split::Test, 4)
        .unwrap()
        .value();
    println!("{name}: fake-quantized {fake:.4}, packed {packed_ppl:.4}");
    assert!(
        relative_gap(packed_ppl, fake) < PACKED_TOLERANCE,
        "{name}: packed {packed_ppl} vs fake-quantized {fake}"
    );
    (fake, packed_ppl, packed)
}
