# Sourced by ./qbridge, ./run-tests and .ci/run: exports JAVA_HOME as a JDK >= 21, or exits 2 with a
# clear message. JAVA_HOME wins when it is suitable; otherwise the newest JDK under the usual places.

# A JDK's major version: from its release file, which every JDK build has (no JVM started: probing each installed JDK
# by running it took 40-80 ms a JDK on every ./qbridge command), else from the JVM's properties.
_qb_java_major() {
  local release="${1%/bin/java}/release" v=""
  [[ -r "$release" ]] && v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release" | head -n1)"
  if [[ "$v" =~ ^[0-9]+$ ]]; then echo "$v"; return 0; fi
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1 | cut -d. -f1
}

_qb_find_jdk() {
  local home v best="" best_v=0
  local candidates=()
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME")
  for home in /usr/lib/jvm/*/ /opt/java/*/ /opt/jdk*/ /usr/local/lib/jvm/*/; do [[ -d "$home" ]] && candidates+=("${home%/}"); done
  for home in "${candidates[@]}"; do
    [[ -x "$home/bin/java" && -x "$home/bin/javac" ]] || continue
    v="$(_qb_java_major "$home/bin/java")"
    [[ "$v" =~ ^[0-9]+$ ]] && (( v >= 21 )) || continue
    if [[ "$home" == "${JAVA_HOME:-}" ]]; then echo "$home"; return 0; fi
    if (( v > best_v )); then best="$home"; best_v=$v; fi
  done
  [[ -n "$best" ]] && echo "$best"
}

QB_JDK="$(_qb_find_jdk)"
if [[ -z "$QB_JDK" ]]; then
  echo "qbridge: no JDK 21 or newer found (looked at JAVA_HOME=${JAVA_HOME:-unset}, /usr/lib/jvm/*, /opt/java/*, /opt/jdk*)." >&2
  echo "qbridge: install one (for example Temurin 21 or 25) or set JAVA_HOME to it." >&2
  exit 2
fi
export JAVA_HOME="$QB_JDK"
QB_JAVA_MAJOR="$(_qb_java_major "$JAVA_HOME/bin/java")"
