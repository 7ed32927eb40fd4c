# Sourced by ./qbridge after find-jdk.sh: qbridge_jvm_options ARGS... sets JVM_OPTS, the options the CLI runs with for
# those arguments (LauncherOptionsTest checks the rules). Every option is speed or housekeeping: no output bit changes.
qbridge_jvm_options() {
  JVM_OPTS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC "-Dqbridge.bitstreams=$ROOT/fpga-bitstreams")
  # C2 compiles the compute kernels (MatMul, VectorOps) and the emulator's (Datapath, the decode and activation
  # kernels: Vector API code, many times slower until C2 has compiled it) after a tenth of the usual invocations and
  # loop iterations, so a fresh `qbridge embed` or `run` has them compiled during its warm-up and first batch instead
  # of after (BENCHMARKS.md §1b, third pass). Only when they compile: the code and every output bit stay the same.
  JVM_OPTS+=(-XX:CompileCommand=quiet "-XX:CompileCommand=CompileThresholdScaling,io.qbridge.compute.*::*,0.1"
             "-XX:CompileCommand=CompileThresholdScaling,io.qbridge.emulator.*::*,0.1")
  # MatMul's one-vector kernel (a tile's last rows and columns) inlined wherever it is called: C2 left the call for the
  # last rows out of line when it had been rare at compile time, and then the process's attention products ran slow
  # to its end (`qbridge bench` on the emulator: forward p50 287-311 ms in about two thirds of processes, 233-250 in
  # the rest; 236-243 in every one with this; BENCHMARKS.md §1b eleventh pass).
  JVM_OPTS+=("-XX:CompileCommand=inline,io.qbridge.compute.MatMul::kernel1xV")
  # The encoder commands (BENCHMARKS.md §1b, fifth pass): counted loops strip-mined with a safepoint poll every 1000
  # iterations, as the JVM does by default under G1 and ZGC but not under ParallelGC (C2 compiled MatMul's FP32 tile
  # 35 % slower without it: 120-130 against 180-200 GFLOPS on the encoders' shapes), and two C2 compiler threads
  # instead of the one a 2-core machine gets (a fresh `qbridge run` queued about 5 s of C2 work behind its load, and
  # whichever kernels came last ran slow for the whole first pass). Not for `generate`: its two spinning decode threads
  # lost a third of mxint8's host-classifier tokens per second to the second compiler thread, and its quantizing load
  # took 0.4-0.6 s longer with strip-mined loops.
  if _qb_encoder_command "$@"; then
    JVM_OPTS+=(-XX:+UseCountedLoopSafepoints -XX:LoopStripMiningIter=1000 -XX:CICompilerCount=3)
    # Attention's products (MatMul's tile loop and its one-vector kernel) after a hundredth of the usual invocations:
    # the warm-up's few FP32 passes then get them compiled in the first second, before the load's and the device
    # kernels' compilations fill C2's queue. Compiled later (3.5-6 s), a fresh `qbridge run` spent 1.4-2 s more in
    # the rest of the model in about half of its runs (the "slow mode" of BENCHMARKS.md §1b, sixth pass). A later
    # CompileCommand for a method overrides the package-wide one above.
    JVM_OPTS+=("-XX:CompileCommand=CompileThresholdScaling,io.qbridge.compute.MatMul::inOutTile,0.01"
               "-XX:CompileCommand=CompileThresholdScaling,io.qbridge.compute.MatMul::kernel1xV,0.01")
    # The Vector API's Java fallbacks (its lane-by-lane templates and the lambdas an intrinsic's entry point calls when
    # the caller is not C2 code) after fifty times the usual invocations. They run only while a kernel is still in the
    # interpreter or C1, but then so often that C2 compiled some 290 of them on their own in a fresh `qbridge run`
    # (2.3-3 CPU-s in its first seconds, against 0.9 in `embed`), ahead of the device kernels themselves. C2-compiled
    # kernels never call them (the intrinsics replace the calls) and a callee's thresholds do not change inlining.
    # `run`: faster in 8 of 8 alternated pairs (medians 7.91 against 8.29 s); `embed` unchanged (BENCHMARKS.md §1b,
    # seventh pass).
    local m
    for m in '*Template' ldOp stOp 'lambda$*' rvOp defaultCast bOp uOp tOp apply load store bTest; do
      JVM_OPTS+=("-XX:CompileCommand=CompileThresholdScaling,jdk.incubator.vector.*::$m,50.0")
    done
  fi
  # protobuf-java still touches sun.misc.Unsafe; JDK 24+ warns about that on every start unless allowed.
  if (( QB_JAVA_MAJOR >= 24 )); then JVM_OPTS+=(--sun-misc-unsafe-memory-access=allow); fi
  # FP32 decoding on the host streams every weight once per token (158 MB for the 42M checkpoint): on 4 KB pages the
  # TLB misses and the prefetchers' stops at page ends held it to 144-184 tok/s in one JVM, on the heap's transparent
  # huge pages it ran at 270-336 (BENCHMARKS.md §2b, fourth pass). Only there: faulting in huge pages cost this machine
  # ~3 ms each, so a quantized run, whose load allocates a gigabyte of planes and tables, loaded 1-2 s slower for no
  # faster token, and embed 0.7 s slower.
  if _qb_fp32_host_decoding "$@" && grep -qE '\[(always|madvise)\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
    JVM_OPTS+=(-XX:+UseTransparentHugePages)
  fi
}

# generate with a checkpoint on the host: no --format, and a model that is not a .qbz container (whose layers run on a
# device), told as the CLI tells it (QbzInfo.isContainer: the name ends in .qbz, any case, or the file starts "QBZ\1").
# Options before the subcommand (--verbose) are skipped.
_qb_fp32_host_decoding() {
  while [[ "${1:-}" == -* ]]; do shift; done
  [[ "${1:-}" == generate ]] || return 1
  shift
  local a model=""
  while (( $# )); do
    a="$1"; shift
    case "$a" in
      -f|-f?*|--format|--format=*) return 1 ;;
      -m|--model) model="${1:-}"; if (( $# )); then shift; fi ;;
      --model=*) model="${a#--model=}" ;;
    esac
  done
  [[ -n "$model" ]] || return 0
  [[ "${model,,}" == *.qbz ]] && return 1
  if [[ -f "$model" && -r "$model" ]] && [[ "$(head -c 3 "$model" 2>/dev/null)" == QBZ ]]; then return 1; fi
  return 0
}

# embed, run and demo: the commands that push whole batches of sentences through an encoder.
_qb_encoder_command() {
  while [[ "${1:-}" == -* ]]; do shift; done
  [[ "${1:-}" == embed || "${1:-}" == run || "${1:-}" == demo ]]
}
