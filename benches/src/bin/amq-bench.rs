//! `amq-bench`: side-by-side benchmark report.
//!
//! ```text
//! cargo run --release -p burn-amq-benches --bin amq-bench -- kernels [--json PATH] [--quick]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use burn_amq_benches::report::JsonRows;
use burn_amq_benches::suites::kernels::{self, KernelsOptions};
use burn_amq_benches::timing::TimingPlan;

const USAGE: &str = "usage: amq-bench <suite> [--json PATH] [--quick]

suites:
  kernels   packed popcount / lookup-table products vs Burn f32 matmul on Flex,
            plus the time to quantize one activation vector

options:
  --json PATH   also write every row as JSON (an array of objects)
  --quick       few repetitions and a reduced set of rows (smoke test)
  -h, --help    this text";

struct Args {
    suite: String,
    json: Option<PathBuf>,
    quick: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut suite = None;
    let mut json = None;
    let mut quick = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = Some(PathBuf::from(it.next().ok_or("--json needs a path")?)),
            "--quick" => quick = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if suite.is_none() => suite = Some(s.to_string()),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    Ok(Args {
        suite: suite.ok_or("missing suite")?,
        json,
        quick,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if e.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = burn_amq_kernels::Tier::env_override() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let mut json = JsonRows::default();
    println!("{}", burn_amq_benches::machine::header());
    match args.suite.as_str() {
        "kernels" => {
            let (opts, plan) = if args.quick {
                (KernelsOptions::quick(), TimingPlan::QUICK)
            } else {
                (KernelsOptions::full(), TimingPlan::FULL)
            };
            println!("{}", kernels::run(&opts, &mut json));
            let ns: &[usize] = if args.quick { &[300] } else { &[300, 1024] };
            println!("{}", kernels::run_quantize(plan, ns, &[2, 3], &mut json));
        }
        other => {
            eprintln!("error: unknown suite {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    if let Some(path) = args.json {
        if let Err(e) = json.write(&path) {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {} rows to {}", json.0.len(), path.display());
    }
    ExitCode::SUCCESS
}
