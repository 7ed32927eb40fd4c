#!/usr/bin/env bash
# Runs io.qbridge.bench.ServerLoadBench (32 clients x 20 run jobs against a real server on loopback, beside the
# same jobs in one process). Arguments: [WORKERS] [CLIENTS] [JOBS_PER_CLIENT]. Builds in the reactor (-am),
# installs nothing into ~/.m2.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/.mvn/find-jdk.sh"
cd "$ROOT"
CP_FILE="$(mktemp)"
./mvnw -B -q -o -pl tests -am test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP_FILE" > /dev/null
CP="tests/target/test-classes:$(cat "$CP_FILE")"
rm -f "$CP_FILE"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -Dqbridge.threads=2 -cp "$CP" io.qbridge.bench.ServerLoadBench "$@" 2> >(grep -v -E ' (QUEUED|RUNNING|SUCCEEDED)' >&2)
