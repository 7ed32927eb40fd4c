#!/usr/bin/env bash
# Encoders as a user runs them (BENCHMARKS.md §1b, issue 16): each program is a fresh process that embeds the
# same 1,024 real sentences (Europarl English, `qbridge data`: the held-out split and the first 24 of the
# retrieval split) and writes every vector as JSON. Each round runs, interleaved so the shared machine's load
# hits them alike:
#   peer   langchain4j 1.19.0-beta29's AllMiniLmL6V2EmbeddingModel on ONNX Runtime (tests/peer-langchain4j)
#   embed  qbridge embed --model minilm --json
#   run    qbridge run --model m.qbz --device emulator --json (m.qbz: `qbridge quantize -m minilm -f $FORMAT`,
#          made once before the rounds), twice: first with no plans kept (the emulator decodes and plans every layer
#          and keeps the plans, as the first run of a container does), then as every later run (plans read back)
# qbridge's cache (inflated ONNX files, plans) is $WORK/cache for these rounds.
# and prints each one's wall time with the load average, then each program's median, `embed` against langchain4j and
# `run` against `embed` round by round (median of the per-round ratios, rounds faster), and how the outputs agree
# (EmbeddingsAgree.java). The order of the programs is reversed every other round, as tests/encoder-ab.sh does: with a
# fixed order, the position in the round showed up in the times (the two runs stay in their order: the first fills the
# plans the second reads).
#   tests/encoder-bench.sh [ROUNDS]
# Env: FORMAT (default microscopiq-w4@rtn); BASE_JAR, a qbridge-cli jar (with its lib/ beside it) to time as
# "base: …" in the same rounds, for before/after figures; QBRIDGE_JAVA_OPTS as for ./qbridge. Times: wall, and CPU = user + sys of all threads.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/tests/bench-stats.sh"
ROUNDS="${1:-3}"
FORMAT="${FORMAT:-microscopiq-w4@rtn}"
WORK="${WORK:-$ROOT/tests/target/encoder-bench}"
source "$ROOT/.mvn/find-jdk.sh"
mkdir -p "$WORK"
"$ROOT/qbridge" --version > /dev/null # builds the CLI first if needed
PEER="$ROOT/tests/peer-langchain4j"
(cd "$ROOT" && ./mvnw -B -q -f "$PEER/pom.xml" package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt > "$WORK/peer-build.log" 2>&1) \
  || { echo "encoder-bench: building the langchain4j peer failed; see $WORK/peer-build.log" >&2; exit 2; }
PEER_CP="$PEER/target/qbridge-peer-langchain4j-0.1.0-SNAPSHOT.jar:$(cat "$PEER/target/classpath.txt")"
"$ROOT/qbridge" data --out "$WORK/data" > "$WORK/data.log" 2>&1 || { echo "encoder-bench: qbridge data failed; see $WORK/data.log" >&2; exit 2; }
TEXT="$WORK/sentences-1024.txt"
{ cat "$WORK/data/europarl-en-held-out.txt"; head -n 24 "$WORK/data/europarl-en-retrieval.txt"; } > "$TEXT"
[[ -f "$WORK/m.qbz" && "$(cat "$WORK/m.format" 2>/dev/null)" == "$FORMAT" ]] || {
  "$ROOT/qbridge" quantize -m minilm -f "$FORMAT" --out "$WORK/m.qbz" > "$WORK/quantize.log" 2>&1 \
    || { echo "encoder-bench: qbridge quantize failed; see $WORK/quantize.log" >&2; exit 2; }
  echo "$FORMAT" > "$WORK/m.format"
}
# qbridge reads the built-in model's ONNX file from the user's cache of inflated resources (ResourceCache), which
# the first run after installing fills: one 1-sentence embed here, so every round times the runs a user makes after.
CACHE="$WORK/cache"
export QBRIDGE_JAVA_OPTS="${QBRIDGE_JAVA_OPTS:-} -Dqbridge.cache=$CACHE"
head -n 1 "$TEXT" > "$WORK/one-sentence.txt"
"$ROOT/qbridge" embed --model minilm --text "$WORK/one-sentence.txt" > /dev/null 2>&1 || { echo "encoder-bench: qbridge embed of one sentence failed" >&2; exit 2; }
JVM_OPTS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC) # as ./qbridge ran the jar before the third pass (base)
if (( QB_JAVA_MAJOR >= 24 )); then JVM_OPTS+=(--sun-misc-unsafe-memory-access=allow); fi

declare -A WALL # name: its wall seconds, one per round
timed() { # name outfile command...: wall and CPU (user + sys, all threads) seconds, and the 1-minute load average before
  local name="$1" out="$2"; shift 2
  local load TIMEFORMAT='%R %U %S' wall user sys; load="$(cut -d' ' -f1 /proc/loadavg)"
  if ! { time "$@" > "$out" 2> "$out.log"; } 2> "$out.time"; then echo "encoder-bench: $name failed; see $out.log" >&2; exit 1; fi
  read -r wall user sys < "$out.time"
  WALL[$name]+="$wall "
  printf '%-44s %7.2f s wall %7.2f s cpu   load %s\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$load"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $JAVA_HOME, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "sentences: $(wc -l < "$TEXT") from $TEXT; run format $FORMAT"
PEER_NAME="langchain4j AllMiniLmL6V2 (ORT)" EMBED_NAME="qbridge embed --model minilm"
FIRST_NAME="qbridge run, first (no plans kept)" RUN_NAME="qbridge run --model m.qbz (emulator)"
peer() { timed "$PEER_NAME" "$WORK/peer.json" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$PEER_CP" io.qbridge.peer.LangChain4jEmbed "$TEXT"; }
embed() { timed "$EMBED_NAME" "$WORK/embed.json" "$ROOT/qbridge" embed --model minilm --text "$TEXT" --json; }
runs() {
  rm -rf "$CACHE/plans"
  timed "$FIRST_NAME" "$WORK/run-first.json" "$ROOT/qbridge" run --model "$WORK/m.qbz" --device emulator --text "$TEXT" --json
  timed "$RUN_NAME" "$WORK/run.json" "$ROOT/qbridge" run --model "$WORK/m.qbz" --device emulator --text "$TEXT" --json
}
base() {
  [[ -n "${BASE_JAR:-}" ]] || return 0
  timed "base: qbridge embed" "$WORK/embed-base.json" "$JAVA_HOME/bin/java" "${JVM_OPTS[@]}" -jar "$BASE_JAR" embed --model minilm --text "$TEXT" --json
  timed "base: qbridge run (emulator)" "$WORK/run-base.json" "$JAVA_HOME/bin/java" "${JVM_OPTS[@]}" -jar "$BASE_JAR" run --model "$WORK/m.qbz" --device emulator --text "$TEXT" --json
}
for ((i = 1; i <= ROUNDS; i++)); do
  echo "round $i, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  if (( i % 2 )); then peer; embed; runs; base; else base; runs; embed; peer; fi
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for name in "$PEER_NAME" "$EMBED_NAME" "$FIRST_NAME" "$RUN_NAME" "base: qbridge embed" "base: qbridge run (emulator)"; do
  if [[ -n "${WALL[$name]:-}" ]]; then printf '%-44s median %.2f s wall\n' "$name" "$(median <<< "${WALL[$name]}")"; fi
done
paired embed "${WALL[$EMBED_NAME]}" langchain4j "${WALL[$PEER_NAME]}"
paired run "${WALL[$RUN_NAME]}" embed "${WALL[$EMBED_NAME]}"
paired "first run" "${WALL[$FIRST_NAME]}" embed "${WALL[$EMBED_NAME]}"
AGREE="$ROOT/tests/src/test/java/io/qbridge/bench/EmbeddingsAgree.java"
echo "embed vs langchain4j:  $("$JAVA_HOME/bin/java" "$AGREE" "$WORK/embed.json" "$WORK/peer.json")"
echo "run vs embed:          $("$JAVA_HOME/bin/java" "$AGREE" "$WORK/run.json" "$WORK/embed.json")"
echo "run vs first run:      $("$JAVA_HOME/bin/java" "$AGREE" "$WORK/run.json" "$WORK/run-first.json")"
if [[ -n "${BASE_JAR:-}" ]]; then
  echo "embed vs base embed:   $("$JAVA_HOME/bin/java" "$AGREE" "$WORK/embed.json" "$WORK/embed-base.json")"
  echo "run vs base run:       $("$JAVA_HOME/bin/java" "$AGREE" "$WORK/run.json" "$WORK/run-base.json")"
fi
