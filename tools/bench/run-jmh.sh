#!/usr/bin/env bash
# Builds magma-bench/target/benchmarks.jar and runs JMH with the given arguments, e.g.
#   tools/bench/run-jmh.sh                                  # every benchmark, default (short) settings
#   tools/bench/run-jmh.sh GemvBenchmark -p threads=2       # one class, one parameter value
#   tools/bench/run-jmh.sh -rf json -rff results.json       # machine-readable results
#   tools/bench/run-jmh.sh -l                               # list the benchmarks
# A command-line -jvmArgsAppend replaces the benchmarks' own flags: repeat
# "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xbatch -XX:+UseTransparentHugePages" in it.
set -eu
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
"$root/tools/mvn" -q -B -DskipTests -pl magma-bench -am package
java="$("$root/tools/find-jdk")/bin/java"
exec "$java" -jar "$root/magma-bench/target/benchmarks.jar" "$@"
