//! The packed 2/2 PTB LSTM shipped in `examples/models/ptb-lstm-w2a2` loads and runs on a
//! fresh clone, and reproduces the test perplexity recorded beside it when the PTB data is
//! present (`../shared/data/ptb`).

use burn_amq_examples::commands::common::DataArgs;
use burn_amq_examples::data::{EOS, Split};
use burn_amq_examples::generate::generate;
use burn_amq_examples::packed_dir::{PackedDir, shipped_ptb_model};
use burn_amq_examples::pipeline::{encode_dir, packed_perplexity, relative_gap};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// What `model.json` beside the shipped model records (written when it was committed).
#[derive(serde::Deserialize)]
struct Recorded {
    eval_batch: usize,
    packed_test_ppl: f64,
}

#[test]
fn shipped_ptb_model_loads_generates_and_keeps_its_perplexity() {
    let dir = PackedDir::new(shipped_ptb_model());
    let (mut model, vocab) = dir.load().expect("the shipped model loads");
    assert_eq!(model.vocab_size(), 10_000);
    assert_eq!(model.d_hidden(), 300);
    let size = model.size_report();
    // 2-bit weights: 2.35 bits per weight with the α coefficients and the padding of
    // 300-wide rows to five 64-bit words; 13.4x smaller than f32 with the biases.
    assert!(
        size.bits_per_weight() > 2.0 && size.bits_per_weight() < 2.5,
        "{size}"
    );
    assert!(size.ratio() > 13.0, "{size}");

    let prompt = vocab.encode(["the", "company", "said"]);
    let sample = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut words = Vec::new();
        let ids = generate(
            &mut model.clone(),
            &vocab,
            &prompt,
            25,
            1.0,
            &mut rng,
            |w| words.push(w.to_owned()),
        )
        .unwrap();
        (ids, words)
    };
    let (ids, words) = sample(7);
    assert_eq!(ids.len(), 25);
    assert!(ids.iter().all(|&i| i != vocab.unk_id()));
    assert_eq!(sample(7).0, ids, "sampling is deterministic for a seed");
    println!("the company said {}", words.join(" ").replace(EOS, "\n"));

    let Ok(data) = (DataArgs { data: None }).resolve() else {
        println!("no PTB data: perplexity check skipped");
        return;
    };
    let recorded: Recorded = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("model.json")).expect("model.json"),
    )
    .expect("model.json fields");
    let corpus = encode_dir(&data, vocab).unwrap();
    let ppl = packed_perplexity(&mut model, &corpus, Split::Test, recorded.eval_batch)
        .unwrap()
        .value();
    println!(
        "packed test perplexity {ppl:.3} (recorded {:.3})",
        recorded.packed_test_ppl
    );
    assert!(
        relative_gap(ppl, recorded.packed_test_ppl) < 1e-4,
        "{ppl} vs recorded {}",
        recorded.packed_test_ppl
    );
}
