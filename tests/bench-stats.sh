# Sourced by the encoder benchmarks (tests/encoder-bench.sh, tests/encoder-ab.sh): the figures they print from
# per-round wall times, each kept as a space-separated list with one entry per round.

# median: the median of the numbers on standard input (separated by spaces or new lines).
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

# paired LABEL TIMES REFERENCE_LABEL REFERENCE_TIMES: one line comparing two programs timed in the same rounds, round by
# round (the machine's load drifts between rounds more than a change moves a median): the median of the per-round
# ratios of their wall times, and in how many rounds the first was faster.
paired() {
  local pairs
  pairs="$(paste <(tr ' ' '\n' <<< "$2" | grep -v '^$') <(tr ' ' '\n' <<< "$4" | grep -v '^$'))"
  echo "$1 / $3, round by round: median ratio $(awk '{printf "%.4f ", $1 / $2}' <<< "$pairs" | median)," \
       "faster in $(awk '$1 < $2' <<< "$pairs" | wc -l) of $(wc -l <<< "$pairs") rounds"
}
