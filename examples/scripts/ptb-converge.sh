#!/usr/bin/env bash
# Trains a full-precision PTB model further, from a committed base, in chunks of a few
# epochs; after every chunk it writes a result row (valid/test of the best model so far),
# exports the best model (f16) and copies the run's log, so that a run cut off with its
# machine can go on from the export on another one. The warm start continues the base's
# plateau rule (`--continue-plateau`): an epoch that does not beat the base's best
# validation perplexity divides the learning rate.
#
#   examples/scripts/ptb-converge.sh BASE RUN EXPORT RESULTS [LR] [LAST_EPOCH] [CHUNK]
#
#   BASE     model directory to start from (e.g. results/bases/ptb-lstm-e10)
#   RUN      run directory (checkpoints; resumed when it has them)
#   EXPORT   where each chunk's best model is exported (e.g. results/bases/ptb-lstm-conv)
#   RESULTS  JSON file the rows are appended to
#   LR       starting learning rate; `base` (the default) takes the rate the base's run
#            would have gone on with (the last `next_lr` of its history.json)
#   LAST_EPOCH  stop after this many epochs of RUN (default 30); CHUNK epochs per process (default 2)
#
# To go on after a machine was lost, start a new RUN from the last EXPORT (RUN and EXPORT
# must be new names: a resumed run checks that its base has not changed).
# PTB (default: target/release/ptb) is the binary; build it first with
#   cargo build --release --locked -p burn-amq-examples --bin ptb
set -euo pipefail
base=$1 run=$2 export=$3 results=$4 lr=${5:-base} last=${6:-30} chunk=${7:-2}
ptb=${PTB:-target/release/ptb}
history_value() {  # FILE EXPR: EXPR of the list h in FILE, or 0 without the file
  [ -f "$1" ] || { echo 0; return; }
  python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
[ "$lr" = base ] && lr=$(history_value "$base/history.json" 'h[-1]["next_lr"]')
while :; do
  have=$(history_value "$run/history.json" 'len(h)')
  [ "$have" -ge "$last" ] && break
  next=$(( (have / chunk + 1) * chunk )); [ "$next" -gt "$last" ] && next=$last
  resume=(); [ -d "$run/checkpoint" ] && resume=(--resume)
  "$ptb" train --init-from "$base" --continue-plateau --out "$run" --lr "$lr" --epochs "$next" \
    "${resume[@]}" --results "$results"
  # an export never overwrites: write it beside the old one, then swap
  rm -rf "$export.new"
  "$ptb" export --from "$run" --out "$export.new"
  rm -rf "$export"; mv "$export.new" "$export"
  mkdir -p "$(dirname "$results")/ptb-conv-logs"
  cp "$run/train.log" "$(dirname "$results")/ptb-conv-logs/$(basename "$run").log"
done
