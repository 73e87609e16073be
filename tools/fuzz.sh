#!/usr/bin/env bash
# fuzz.sh [SECONDS] — build the libFuzzer harnesses of tests/fuzz with clang
# (ASan + UBSan, build-fuzz/, -Dfuzz=true) and run each of the five for
# SECONDS/5 (default 90 in all) on a scratch copy of its seed corpus
# (tests/fuzz/corpus/{model,csv,idx,npz,text}; the repository's corpus is never
# modified). Any crash, leak, timeout, out-of-memory or broken invariant
# fails: its input is printed (hex) and kept in build-fuzz/fuzz-artifacts/.
# Writes one JSON line per fuzzer to build-fuzz/meson-logs/testlog.json for
# tools/test_summary.py, and ends with "N passed, N failed".
# Replay one input: build-fuzz/tests/fuzz/fuzz_csv FILE
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
bm_install_deps clang libclang-rt-14-dev
total=${1:-90}
dir=build-fuzz
if [ ! -d "$dir" ]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Dbuildtype=debug -Dtests=false >/dev/null || exit 1
fi
# name : corpus : -max_len
fuzzers=(model_json:model:8192 csv:csv:4096 idx:idx:4096 npz:npz:4096 text:text:4096)
per=$((total / ${#fuzzers[@]}))
[ "$per" -ge 1 ] || per=1
targets=()
for f in "${fuzzers[@]}"; do targets+=("tests/fuzz/fuzz_${f%%:*}"); done
ninja -C "$dir" "${targets[@]}" || exit 1

# Scratch on tmpfs when there is one: the harnesses rewrite a file per input.
scratch=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$dir/meson-logs" "$dir/fuzz-artifacts"
log="$dir/meson-logs/testlog.json"
: >"$log"
pass=0
fail=0
for f in "${fuzzers[@]}"; do
    IFS=: read -r name corpus maxlen <<<"$f"
    work="$scratch/$name"
    mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
    cp tests/fuzz/corpus/"$corpus"/* "$work/corpus/"
    echo "== fuzz_$name: ${per}s on $(ls "$work/corpus" | wc -l) seeds"
    TMPDIR="$work/tmp" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$dir/tests/fuzz/fuzz_$name" -max_total_time="$per" -max_len="$maxlen" \
        -rss_limit_mb=2048 -timeout=20 -use_value_profile=1 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log.txt" 2>&1
    rc=$?
    crashes=$(ls "$work/artifacts")
    if [ "$rc" -eq 0 ] && [ -z "$crashes" ]; then
        result=OK
        pass=$((pass + 1))
        grep -E "^(Done|stat::number_of_executed_units|stat::new_units_added)" "$work/log.txt"
    else
        result=FAIL
        fail=$((fail + 1))
        echo "FAIL: fuzz_$name exited $rc"
        grep -v "^#[0-9]" "$work/log.txt" | tail -40
        for c in $crashes; do
            cp "$work/artifacts/$c" "$dir/fuzz-artifacts/fuzz_$name-$c"
            echo "-- input $dir/fuzz-artifacts/fuzz_$name-$c ($(wc -c <"$work/artifacts/$c") bytes):"
            od -A d -c "$work/artifacts/$c" | head -40
        done
    fi
    python3 - "$name" "$result" "$work/log.txt" "$per" >>"$log" <<'EOF'
import json, sys
name, result, path, secs = sys.argv[1:]
text = open(path, encoding="utf-8", errors="replace").read()
lines = [l for l in text.splitlines() if not l.startswith("#")]
print(json.dumps({"name": "fuzz_" + name, "result": result, "duration": float(secs),
                  "stdout": "\n".join(lines[-60:])}))
EOF
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
