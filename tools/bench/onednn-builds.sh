#!/usr/bin/env bash
# Compares nd4j's oneDNN builds (docs/nd4j.md, "Which build, measured"): OneDnnBuildBenchmark
# (prefill GEMMs, RN50x16 convolutions, the whole image prefix) once per configuration, each in its
# own JVMs since a JVM loads one libnd4jcpu; the build is chosen with -Dmagma.onednn.build.
# A configuration is BUILD[:ISA]: BUILD is onednn-avx512, onednn-avx2, onednn or off (pure Java);
# ISA, if given, caps the kernels oneDNN picks at run time (DNNL_MAX_CPU_ISA=AVX2, AVX, SSE41):
# how an AVX-512 machine imitates an older CPU, as oneDNN chooses its kernels from the running CPU
# whatever build it sits in. Rounds repeat the whole list, so that drift on a shared machine shows.
#
#   tools/bench/onednn-builds.sh                                  # 2 rounds of the default list
#   FIRST_ROUND=3 ROUNDS=3 tools/bench/onednn-builds.sh            # 3 more rounds, numbered on
#   ROUNDS=1 CONFIGS="onednn-avx512 onednn-avx2:AVX2" tools/bench/onednn-builds.sh gemm
#   OUT=$PWD/magma-bench/target/onednn-pure-java CONFIGS="onednn off" tools/bench/onednn-builds.sh   # pure Java
#
# Arguments go to JMH after the benchmark name (a regexp on OneDnnBuildBenchmark's methods).
# Results: magma-bench/target/onednn-builds/<round>-<config>.json and .txt (or under $OUT);
# tools/bench/onednn-builds-table.py tabulates them.
set -eu
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rounds=${ROUNDS:-2}
configs=${CONFIGS:-"onednn-avx512 onednn-avx2 onednn onednn-avx2:AVX2 onednn:AVX"}
methods=${1:-"gemm|conv|imagePrefix"}
shift || true
out=${OUT:-"$root/magma-bench/target/onednn-builds"}
mkdir -p "$out/jars"

"$root/tools/mvn" -q -B -DskipTests -pl magma-bench -am package
# every build's jar (from Maven Central through ~/.m2), whichever of them the project ships
for classifier in linux-x86_64-onednn-avx512 linux-x86_64-onednn-avx2 linux-x86_64-onednn; do
    [ -f "$out/jars/nd4j-native-1.0.0-M2.1-$classifier.jar" ] ||
        "$root/tools/mvn" -q -B -N dependency:copy -Dartifact="org.nd4j:nd4j-native:1.0.0-M2.1:jar:$classifier" -DoutputDirectory="$out/jars"
done
cp="$root/magma-bench/target/benchmarks.jar$(printf ':%s' "$out"/jars/*.jar)"
java="$("$root/tools/find-jdk")/bin/java"
flags="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xbatch -XX:+UseTransparentHugePages"

first=${FIRST_ROUND:-1}
for round in $(seq "$first" $((first + rounds - 1))); do
    # each round starts one configuration later, so that none always runs first (or after the same one)
    read -ra list <<< "$configs"
    k=$(( (round - 1) % ${#list[@]} ))
    for config in "${list[@]:k}" "${list[@]:0:k}"; do
        build=${config%%:*}
        isa=${config#"$build"}
        isa=${isa#:}
        if [ "$build" = off ]; then props="-Dmagma.onednn=off"; else props="-Dmagma.onednn.build=$build"; fi
        name="$round-${config//:/-}"
        # JMH runs one instance per machine (/tmp/jmh.lock): wait for another one to finish
        while :; do
            env ${isa:+DNNL_MAX_CPU_ISA=$isa} "$java" -cp "$cp" org.openjdk.jmh.Main "OneDnnBuildBenchmark\.($methods)\$" \
                -jvmArgsAppend "$flags $props" -rf json -rff "$out/$name.json" "$@" > "$out/$name.txt" 2>&1 || true
            grep -q 'Unable to acquire the JMH lock' "$out/$name.txt" || break
            sleep 20
        done
        echo "== round $round: $config, done $(date -u +%F\ %H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
        grep -E '^# oneDNN|^OneDnnBuildBenchmark\.[a-zA-Z]+ +[^:]|ERROR|Exception' "$out/$name.txt" || true
    done
done
