#!/usr/bin/env bash
# Alternated before/after rounds of the encoder commands (BENCHMARKS.md §1b): each spec is one fresh process per round,
# run with a checkout's own ./qbridge (its launcher options included) on tests/encoder-bench.sh's 1,024 sentences,
# container and cache, which that script makes (run it once first). The order of the specs is reversed every other
# round: with a fixed order, the position in the round showed up as a 0.8 s difference between identical builds.
#   tests/encoder-ab.sh ROUNDS "label|checkout|run or embed|extra JVM options" ...
#   e.g. tests/encoder-ab.sh 10 "run-before|/tmp/before|run|" "run|$PWD|run|" "embed|$PWD|embed|"
# Prints each round's wall / CPU (user + sys, all threads) seconds and the load average, then each spec's medians, and
# each spec against the last one round by round (median ratio, rounds faster).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/tests/bench-stats.sh"
WORK="${WORK:-$ROOT/tests/target/encoder-bench}"
(( $# >= 2 )) || { echo "usage: tests/encoder-ab.sh ROUNDS 'label|checkout|run-or-embed|jvm options' ..." >&2; exit 2; }
ROUNDS="$1"; shift
for f in m.qbz sentences-1024.txt cache; do
  [[ -e "$WORK/$f" ]] || { echo "encoder-ab: $WORK/$f is missing; run tests/encoder-bench.sh 1 first" >&2; exit 2; }
done
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
declare -A WALL CPU
for ((r = 1; r <= ROUNDS; r++)); do
  specs=("$@")
  if (( r % 2 == 0 )); then specs=(); for ((q = $#; q >= 1; q--)); do specs+=("${!q}"); done; fi
  line="round $r, load $(cut -d' ' -f1 /proc/loadavg):"
  for spec in "${specs[@]}"; do
    IFS='|' read -r label checkout cmd opts <<< "$spec"
    case "$cmd" in
      run) args=(run --model "$WORK/m.qbz" --device emulator --text "$WORK/sentences-1024.txt" --json) ;;
      embed) args=(embed --model minilm --text "$WORK/sentences-1024.txt" --json) ;;
      *) echo "encoder-ab: '$cmd' is neither run nor embed" >&2; exit 2 ;;
    esac
    TIMEFORMAT='%R %U %S'
    if ! { time QBRIDGE_JAVA_OPTS="-Dqbridge.cache=$WORK/cache $opts" "$checkout/qbridge" "${args[@]}" > "$OUT/out.json" 2> "$OUT/err.log"; } 2> "$OUT/time"; then
      echo "encoder-ab: $label failed:" >&2; tail -5 "$OUT/err.log" >&2; exit 1
    fi
    read -r wall user sys < <(tail -1 "$OUT/time")
    cpu="$(echo "$user + $sys" | bc)"
    line="$line  $label $wall / $cpu"
    WALL[$label]+="$wall "; CPU[$label]+="$cpu "
  done
  echo "$line"
done
for spec in "$@"; do
  IFS='|' read -r label rest <<< "$spec"
  echo "$label: median wall $(echo "${WALL[$label]}" | median) s, CPU $(echo "${CPU[$label]}" | median) s"
done
# Each spec against the last one, round by round.
IFS='|' read -r last rest <<< "${!#}"
for spec in "${@:1:$# - 1}"; do
  IFS='|' read -r label rest <<< "$spec"
  paired "$label" "${WALL[$label]}" "$last" "${WALL[$last]}"
done
