#!/usr/bin/env bash
# Runs the JMH benchmarks in tests/src/test/java/io/qbridge/bench (ONNX Runtime is a test-scope peer,
# so these live here rather than in `qbridge bench`). Arguments go to JMH, e.g.:
#   tests/bench.sh EncoderVsOnnxRuntimeBench -p model=minilm
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/.mvn/find-jdk.sh"
cd "$ROOT"
CP_FILE="$(mktemp)"
# One reactor build: the project's modules come from their target/classes, nothing is installed into ~/.m2
# (a shared repository would otherwise hold this worktree's SNAPSHOTs).
./mvnw -B -q -DskipTests -pl tests -am test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP_FILE" > /dev/null
CP="tests/target/test-classes:$(cat "$CP_FILE")"
rm -f "$CP_FILE"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$CP" org.openjdk.jmh.Main "$@"
