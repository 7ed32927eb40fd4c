#!/usr/bin/env bash
# Decoding speed side by side with llama2.c, as BENCHMARKS.md §2b records it: each round runs llama2.c's run.c
# (fp32), `qbridge generate` (fp32), llama2.c's runq.c (Q8_0) and `qbridge generate --format F --device emulator`
# for each format (classifier on the host, then with --classifier-on-device), interleaved so that the shared
# machine's load hits all of them alike; then this machine's memory bandwidth (MemoryBandwidth.java).
#   tests/decode-bench.sh PEERS_DIR [ROUNDS]
# PEERS_DIR holds runomp, runqomp, m42.bin and m42q80.bin, made as ../shared/bench/README.md says; this script
# builds and downloads nothing. FORMATS (env) overrides the formats, THREADS the thread count (default 2).
# BASE (env), another checkout of Qbridge with its CLI built, adds each qbridge line run by that checkout right
# after ours ("before:"), for before/after figures in the same run.
# CLASSIFIER (env) "host device" (the default) runs each format with the classifier on the host and on the device;
# "device" only with --classifier-on-device. Every line ends with the 1-minute load average after the run.
# The peers run with OMP_WAIT_POLICY=passive unless set: on a loaded machine OpenMP's default spinning barriers
# collapse (run.c fell to ~4 tok/s at a load average of 20, ~70 passive); on a quiet machine set it to active.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="${1:?usage: tests/decode-bench.sh PEERS_DIR [ROUNDS]}"
ROUNDS="${2:-3}"
FORMATS="${FORMATS:-rtn-w4g128 microscopiq-w4@rtn mxint8}"
THREADS="${THREADS:-2}"
CLASSIFIER="${CLASSIFIER:-host device}"
TOK="${TOK:-$ROOT/../shared/golden/llama2c/tokenizer.bin}"
for f in runomp runqomp m42.bin m42q80.bin; do [[ -e "$PEERS/$f" ]] || { echo "decode-bench: $PEERS/$f is missing (see ../shared/bench/README.md)" >&2; exit 2; }; done
source "$ROOT/.mvn/find-jdk.sh"
"$ROOT/qbridge" --version > /dev/null # builds the CLI first if needed
if [[ -n "${BASE:-}" ]]; then "$BASE/qbridge" --version > /dev/null; fi
PROMPT="Once upon a time"
rate() { grep -o 'achieved tok/s: [0-9.]*' | awk '{print $3}'; }
peer() { # name binary checkpoint
  local t0 t1 r; t0=$(date +%s.%N)
  r=$(OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" OMP_NUM_THREADS=$THREADS "$PEERS/$2" "$PEERS/$3" -z "$TOK" -t 0 -n 256 -i "$PROMPT" 2>&1 | rate); t1=$(date +%s.%N)
  printf '%-44s %8s tok/s %6.2f s wall  load %s\n' "$1" "$r" "$(echo "$t1 - $t0" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
}
qb1() { # root name args...
  local root="$1" name="$2"; shift 2; local t0 t1 r; t0=$(date +%s.%N)
  r=$(QBRIDGE_JAVA_OPTS="-Dqbridge.threads=$THREADS ${QBRIDGE_JAVA_OPTS:-}" "$root/qbridge" generate -m "$PEERS/m42.bin" --tokenizer "$TOK" -t 0 -n 256 -i "$PROMPT" "$@" 2>&1 >/dev/null | rate); t1=$(date +%s.%N)
  printf '%-44s %8s tok/s %6.2f s wall  load %s\n' "$name" "$r" "$(echo "$t1 - $t0" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
}
qb() { # name args...
  qb1 "$ROOT" "$@"
  if [[ -n "${BASE:-}" ]]; then local name="$1"; shift; qb1 "$BASE" "before: $name" "$@"; fi
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%Y-%m-%d %H:%M UTC')"
for ((i = 1; i <= ROUNDS; i++)); do
  echo "round $i, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  peer "llama2.c run.c (fp32)" runomp m42.bin
  qb "qbridge generate (fp32)"
  QBRIDGE_JAVA_OPTS="-Dqbridge.warmup=false" qb "qbridge generate (fp32, no JIT warm-up)"
  peer "llama2.c runq.c (Q8_0)" runqomp m42q80.bin
  for f in $FORMATS; do
    if [[ " $CLASSIFIER " == *" host "* ]]; then qb "qbridge generate --format $f" --format "$f" --device emulator; fi
    if [[ " $CLASSIFIER " == *" device "* ]]; then qb "qbridge generate --format $f --classifier-on-device" --format "$f" --device emulator --classifier-on-device; fi
  done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" "$ROOT/tests/src/test/java/io/qbridge/bench/MemoryBandwidth.java" "$THREADS" 512
