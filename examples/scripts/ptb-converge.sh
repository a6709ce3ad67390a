#!/usr/bin/env bash
# Trains a full-precision PTB model further, from a committed base, in chunks of a few
# epochs; after every chunk it writes a result row (valid/test of the best model so far),
# exports the best model (f16) and copies the run's log, so that a run cut off with its
# machine can go on from the export on another one.
#
#   examples/scripts/ptb-converge.sh BASE RUN EXPORT RESULTS LR [LAST_EPOCH] [CHUNK]
#
#   BASE     model directory to start from (e.g. results/bases/ptb-lstm-e10)
#   RUN      run directory (checkpoints; resumed when it has them)
#   EXPORT   where each chunk's best model is exported (e.g. results/bases/ptb-lstm-conv)
#   RESULTS  JSON file the rows are appended to
#   LR       starting learning rate (the plateau rule divides it by 1.2 from there)
#   LAST_EPOCH  stop after this many epochs of RUN (default 30); CHUNK epochs per process (default 2)
#
# PTB (default: target/release/ptb) is the binary; build it first with
#   cargo build --release --locked -p burn-amq-examples --bin ptb
set -euo pipefail
base=$1 run=$2 export=$3 results=$4 lr=$5 last=${6:-30} chunk=${7:-2}
ptb=${PTB:-target/release/ptb}
done_epochs() {
  [ -f "$run/history.json" ] || { echo 0; return; }
  python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$run/history.json"
}
while :; do
  have=$(done_epochs)
  [ "$have" -ge "$last" ] && break
  next=$(( (have / chunk + 1) * chunk )); [ "$next" -gt "$last" ] && next=$last
  resume=(); [ -d "$run/checkpoint" ] && resume=(--resume)
  "$ptb" train --init-from "$base" --out "$run" --lr "$lr" --epochs "$next" "${resume[@]}" \
    --results "$results"
  # an export never overwrites: write it beside the old one, then swap
  rm -rf "$export.new"
  "$ptb" export --from "$run" --out "$export.new"
  rm -rf "$export"; mv "$export.new" "$export"
  mkdir -p "$(dirname "$results")/ptb-conv-logs"
  cp "$run/train.log" "$(dirname "$results")/ptb-conv-logs/$(basename "$run").log"
done
