//! `amq-bench`: side-by-side benchmark report.
//!
//! ```text
//! cargo run --release -p burn-amq-benches --bin amq-bench -- <suite> [--json PATH] [--quick]
//! ```
//!
//! Suites: `kernels`, `layers` (the recurrent-layer rows, then the train-step and size
//! rows), `train-step` (the train-step rows alone) and `size` (the size rows alone).

use std::path::PathBuf;
use std::process::ExitCode;

use burn_amq_benches::report::JsonRows;
use burn_amq_benches::suites::SuiteError;
use burn_amq_benches::suites::kernels::{self, KernelsOptions};
use burn_amq_benches::suites::layers::{self, LayersOptions};
use burn_amq_benches::suites::size::{self, SizeOptions};
use burn_amq_benches::suites::train_step::{self, TrainStepOptions};
use burn_amq_benches::timing::TimingPlan;

const USAGE: &str = "usage: amq-bench <suite> [--json PATH] [--quick]

suites:
  kernels      packed popcount / lookup-table products vs Burn f32 matmul on Flex,
               plus the time to quantize one activation vector
  layers       PackedLstm / PackedGru (one step and a 35-step sequence) vs burn::nn
               Lstm / Gru in f32 on Flex, same weights, with the share of step time
               spent quantizing the hidden state; then the train-step and size rows
  train-step   one QAT training step (forward + backward) of QuantLstm / QuantGru vs
               burn::nn Lstm / Gru on Flex with autodiff
  size         bytes of a packed 4096×1024 QuantLinear at 1…4 bits vs f32

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
    let result = match args.suite.as_str() {
        "kernels" => {
            run_kernels(args.quick, &mut json);
            Ok(())
        }
        "layers" => run_layers(args.quick, &mut json),
        "train-step" => run_train_step(args.quick, &mut json),
        "size" => run_size(&mut json),
        other => {
            eprintln!("error: unknown suite {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
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

fn run_kernels(quick: bool, json: &mut JsonRows) {
    let (opts, plan) = if quick {
        (KernelsOptions::quick(), TimingPlan::QUICK)
    } else {
        (KernelsOptions::full(), TimingPlan::FULL)
    };
    println!("{}", kernels::run(&opts, json));
    let ns: &[usize] = if quick { &[300] } else { &[300, 1024] };
    println!("{}", kernels::run_quantize(plan, ns, &[2, 3], json));
}

/// The `layers` report: its sections in order, each printed as soon as it is measured.
fn run_layers(quick: bool, json: &mut JsonRows) -> Result<(), SuiteError> {
    let opts = if quick {
        LayersOptions::quick()
    } else {
        LayersOptions::full()
    };
    println!("{}", layers::run(&opts, json)?);
    run_train_step(quick, json)?;
    run_size(json)
}

fn run_size(json: &mut JsonRows) -> Result<(), SuiteError> {
    println!("{}", size::run(&SizeOptions::full(), json)?);
    Ok(())
}

fn run_train_step(quick: bool, json: &mut JsonRows) -> Result<(), SuiteError> {
    let opts = if quick {
        TrainStepOptions::quick()
    } else {
        TrainStepOptions::full()
    };
    println!("{}", train_step::run(&opts, json)?);
    Ok(())
}
