#!/usr/bin/env python3
"""Top frames of a JFR recording's samples whose stack passes through a method, e.g. where a
decode step or a prefill spends its time:

    /usr/bin/python3 tools/bench/jfr-top-frames.py decode.jfr Sequence.next [jdk.ExecutionSample|jdk.NativeMethodSample]

Record with MAGMA_JAVA_OPTS="-XX:StartFlightRecording=filename=decode.jfr,settings=profile" ./magma ...
Prints the sample count, how the top frames ran (JIT compiled, inlined, interpreted, native) and
the 25 most frequent top frames (class.method).
"""
import collections
import json
import subprocess
import sys
from pathlib import Path

FIND_JDK = Path(__file__).resolve().parents[1] / "find-jdk"


def main():
    jfr, needle = sys.argv[1], sys.argv[2]
    event = sys.argv[3] if len(sys.argv) > 3 else "jdk.ExecutionSample"
    java_home = subprocess.check_output([str(FIND_JDK)]).decode().strip()
    out = subprocess.check_output([java_home + "/bin/jfr", "print", "--json", "--stack-depth", "200", "--events", event, jfr])
    top = collections.Counter()
    how = collections.Counter()
    total = 0
    for e in json.loads(out)["recording"]["events"]:
        stack = e["values"].get("stackTrace")
        frames = stack["frames"] if stack else []
        names = [f["method"]["type"]["name"].split("/")[-1] + "." + f["method"]["name"] for f in frames]
        if not any(needle in n for n in names):
            continue
        total += 1
        top[names[0]] += 1
        how[frames[0]["type"]] += 1
    print("samples", total, dict(how))
    for name, n in top.most_common(25):
        print(f"{n:6d} {100 * n / total:5.1f}% {name}")


if __name__ == "__main__":
    sys.exit(main())
