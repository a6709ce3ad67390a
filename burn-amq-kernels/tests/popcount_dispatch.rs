//! The default entry point honours a tier forced through `AMQ_KERNEL_TIER`.
//!
//! The environment is process-global and `Tier::active` is computed once, so each forced
//! tier runs in a child process (this same test binary, filtered to `child_reports_tier`).

use std::process::Command;

use burn_amq_kernels::popcount;
use burn_amq_kernels::tier::TIER_ENV;
use burn_amq_kernels::{BitPlanes, Par, Tier, pack::InterleavedPlanes};

/// Set in the child: the tier the parent forced.
const EXPECT_ENV: &str = "AMQ_POPCOUNT_TEST_EXPECT";

#[test]
fn child_reports_tier() {
    let Ok(expect) = std::env::var(EXPECT_ENV) else {
        return; // Run directly: nothing to check (the parent test drives this one).
    };
    let expect = Tier::parse(&expect).unwrap();
    assert_eq!(popcount::active_tier(), expect);
    // The default entry point must produce what the forced tier produces.
    let planes: Vec<u64> = (0..9 * 2 * 2)
        .map(|i| 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i + 1))
        .collect();
    let w = BitPlanes::from_parts(9, 128, 2, [1.0, 0.5].repeat(9), planes).unwrap();
    let x = BitPlanes::from_parts(1, 128, 2, vec![0.75, 0.25], vec![1, 2, 3, 4]).unwrap();
    let il = InterleavedPlanes::from(&w);
    let (mut a, mut b) = (vec![0.0; 9], vec![0.0; 9]);
    popcount::popcount_matmul(&il, x.as_ref(), &mut a, Par::Seq).unwrap();
    popcount::popcount_matmul_with(expect, &il, x.as_ref(), &mut b, Par::Seq).unwrap();
    assert_eq!(a, b);
    println!("child saw tier {expect}");
}

#[test]
fn forced_tier_is_honoured() {
    let exe = std::env::current_exe().unwrap();
    for tier in Tier::available() {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "child_reports_tier",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(TIER_ENV, tier.name())
            .env(EXPECT_ENV, tier.name())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "forced {tier}: child failed\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("child saw tier {tier}")),
            "forced {tier}: the child did not run\n{stdout}"
        );
    }
}
