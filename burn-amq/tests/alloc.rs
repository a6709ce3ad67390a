//! The packed layers' step APIs allocate nothing once their scratch is sized.
//!
//! A counting global allocator (it needs a test binary of its own) records every allocation
//! made while counting is switched on, on any thread, so work handed to the kernels' thread
//! pool is counted too. The file holds a single test so the harness runs nothing beside it while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use burn::prelude::*;
use burn_amq::nn::{QuantEmbeddingConfig, QuantGruConfig, QuantLinearConfig, QuantLstmConfig};
use burn_amq::packed::Par;
use burn_amq::packed::{PackOptions, PackedLstmState, WeightsOnlyProduct};

struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a side
// effect only.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through `alloc`/`realloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as for `alloc`; `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations made by `f`.
fn allocations_in(mut f: impl FnMut()) -> usize {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// A deterministic input that changes from step to step.
fn input(len: usize, step: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7 + step * 13) % 23) as f32 - 11.0) / 11.0)
        .collect()
}

const D_IN: usize = 70;
const H: usize = 130;
const STEPS: usize = 10;

/// Weights+activations (popcount), weights-only exact and weights-only lookup.
fn variants() -> [(Option<usize>, WeightsOnlyProduct); 3] {
    [
        (Some(2), WeightsOnlyProduct::Exact),
        (None, WeightsOnlyProduct::Exact),
        (None, WeightsOnlyProduct::Lookup),
    ]
}

#[test]
fn packed_steps_allocate_nothing_after_the_first_call() {
    // The counter counts (otherwise every assertion below would pass vacuously).
    let n = allocations_in(|| {
        std::hint::black_box(vec![1u8; 100]);
    });
    assert!(n >= 1, "the counting allocator saw {n} allocations");

    let device = Device::flex();
    device.seed(11);
    // Par::Threads(2) sends the larger products to the thread pool (on a machine with at
    // least two threads); its workers' allocations are counted too.
    for par in [Par::Seq, Par::Threads(2)] {
        for (act_bits, product) in variants() {
            let options = PackOptions::default().with_weights_only(product);
            let label = format!("{par:?} a{act_bits:?} {product:?}");

            let lstm = QuantLstmConfig::new(D_IN, H, true)
                .with_weight_bits(Some(2))
                .with_act_bits(act_bits)
                .init(&device)
                .unwrap();
            let mut lstm = lstm.pack_with(&options).unwrap();
            lstm.set_par(par);
            let gru = QuantGruConfig::new(D_IN, H, true)
                .with_weight_bits(Some(3))
                .with_act_bits(act_bits)
                .init(&device)
                .unwrap();
            let mut gru = gru.pack_with(&options).unwrap();
            gru.set_par(par);
            let linear = QuantLinearConfig::new(H, D_IN)
                .with_weight_bits(Some(2))
                .with_act_bits(act_bits)
                .init(&device)
                .unwrap();
            let mut linear = linear.pack_with(&options).unwrap();
            linear.set_par(par);

            for batch in [1usize, 3] {
                let mut lstm_state = PackedLstmState::zeros(batch, H);
                let mut gru_hidden = vec![0.0f32; batch * H];
                let mut logits = vec![0.0f32; batch * D_IN];
                let inputs: Vec<Vec<f32>> = (0..=STEPS).map(|t| input(batch * D_IN, t)).collect();
                // The first call sizes the scratch buffers.
                lstm.step(&inputs[0], &mut lstm_state).unwrap();
                gru.step(&inputs[0], batch, &mut gru_hidden).unwrap();
                linear
                    .forward(lstm_state.hidden(), batch, &mut logits)
                    .unwrap();
                let n = allocations_in(|| {
                    for x in &inputs[1..] {
                        lstm.step(x, &mut lstm_state).unwrap();
                        gru.step(x, batch, &mut gru_hidden).unwrap();
                        linear
                            .forward(lstm_state.hidden(), batch, &mut logits)
                            .unwrap();
                    }
                });
                assert_eq!(
                    n, 0,
                    "{label} batch {batch}: {n} allocations in {STEPS} steps"
                );
                // The steps did run: the state moved away from zero.
                assert!(lstm_state.hidden().iter().any(|&v| v != 0.0), "{label}");
                assert!(gru_hidden.iter().any(|&v| v != 0.0), "{label}");
            }
        }
    }

    // Embedding lookups write into a caller buffer.
    let embedding = QuantEmbeddingConfig::new(50, 16)
        .with_weight_bits(Some(2))
        .init(&device)
        .unwrap()
        .pack()
        .unwrap();
    let mut rows = vec![0.0f32; 3 * 16];
    embedding.lookup(&[1, 7, 49], &mut rows).unwrap();
    let n = allocations_in(|| {
        for i in 0..STEPS {
            embedding.lookup(&[i, i + 1, 49 - i], &mut rows).unwrap();
        }
    });
    assert_eq!(n, 0, "embedding lookup: {n} allocations");
}
