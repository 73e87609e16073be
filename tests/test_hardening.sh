#!/usr/bin/env bash
# test_hardening.sh BMNN SRCDIR — issue 13's CLI cases, found by trying to
# break bmnn: gradcheck data checked against the model; FIFOs, devices and
# directories as inputs (refused at once, never blocking); every output
# written atomically (a FIFO or device target untouched, a 255-byte name
# working, a failing write keeping the old file and leaving no temporary);
# SIGINT/SIGTERM during --checkpoint-every (exit 130/143, the last checkpoint
# whole and resumable, no temporary); strict numeric flags; BCE targets and
# optimizer state checked against their domain. Ends with "N passed, N failed".
set -u
bmnn=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    cd / && rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
# A command that used to block forever fails the case instead (exit 124).
CLI_LIMIT=60
. "$src/tests/cli_lib.sh"
# no_temps WHAT: no *.tmp.* file is left in the work dir
no_temps() {
    local t
    t=$(find . -name '*.tmp.*' | head -3)
    [ -z "$t" ] && ok || { bad "$1: temporary files left: $t"; find . -name '*.tmp.*' -delete; }
}
is_fifo() { [ -p "$1" ] && ok || bad "$2: $1 is no longer a FIFO"; }

cp "$src/tests/data/cli_small.json" small.json
"$bmnn" data spiral --samples 50 --classes 3 --seed 1 -o train.csv >/dev/null || exit 1
"$bmnn" train small.json --data train.csv -q -o model.json >/dev/null || exit 1

# ---- 1. gradcheck --data is checked against the model (2 inputs, 3 classes)
printf 'x0,label\n0.5,1\n0.1,2\n' >narrow.csv
printf 'x0,x1,x2,label\n0.5,0.1,0.2,1\n0.1,0.3,0.4,2\n' >wide.csv
printf 'x0,x1,label\n0.5,0.1,1\n0.1,0.3,5\n' >label5.csv
expect 1 "gradcheck with fewer features" -- "$bmnn" gradcheck --model model.json --data narrow.csv
has err.txt "narrow.csv: features [2,1] do not fit the model's 2 inputs" "fewer features named"
expect 1 "gradcheck with more features" -- "$bmnn" gradcheck --model model.json --data wide.csv
has err.txt "wide.csv: features [2,3] do not fit the model's 2 inputs" "more features named"
expect 1 "gradcheck with a label past the classes" -- "$bmnn" gradcheck --model model.json --data label5.csv
has err.txt "label5.csv: row 1 has label 5, the model has 3 classes" "bad label named"
expect 0 "gradcheck with fitting data" -- "$bmnn" gradcheck --model model.json --data train.csv

# ---- 4. special files as inputs: refused at once, named
mkfifo in.fifo in.csv
expect 1 "train on a FIFO with no writer" -- "$bmnn" train small.json --data in.csv -q
has err.txt "in.csv: is a FIFO, not a regular file" "FIFO data named"
expect 1 "eval of a FIFO model" -- "$bmnn" eval in.fifo --data train.csv
has err.txt "in.fifo: is a FIFO, not a regular file" "FIFO model named"
# 3 images of 1x2 pixels (the model's 2 inputs), labels from the FIFO
printf '\000\000\010\003\000\000\000\003\000\000\000\001\000\000\000\002\001\002\003\004\005\006' >digits-images-idx3-ubyte
expect 1 "eval on IDX labels from a FIFO" -- "$bmnn" eval model.json --data digits-images-idx3-ubyte --labels in.fifo
has err.txt "in.fifo: is a FIFO, not a regular file" "FIFO labels named"
ln -s /dev/zero zero.csv # endless: a line would grow without bound
expect 1 "train on /dev/zero" -- "$bmnn" train small.json --data zero.csv -q
has err.txt "zero.csv: is a character device, not a regular file" "device data named"
expect 1 "eval on IDX labels from /dev/zero" -- "$bmnn" eval model.json --data digits-images-idx3-ubyte --labels /dev/zero
has err.txt "/dev/zero: is a character device, not a regular file" "device labels named"
expect 1 "dot of /dev/zero" -- "$bmnn" dot /dev/zero
has err.txt "/dev/zero: is a character device" "device model named"
mkdir adir.csv
expect 1 "eval on a directory" -- "$bmnn" eval model.json --data adir.csv
has err.txt "adir.csv: is a directory, not a regular file" "directory data named"

# ---- 5. outputs: one atomic writer for every file bmnn writes
mkfifo out.fifo
for c in "data spiral -o out.fifo" "predict model.json --data train.csv -o out.fifo" \
         "dot model.json -o out.fifo" "train small.json --data train.csv -q --epochs 1 -o out.fifo"; do
    # shellcheck disable=SC2086
    expect 1 "$c" -- "$bmnn" $c
    has err.txt "out.fifo: is a FIFO, not a regular file: not replaced" "$c: FIFO target named"
    is_fifo out.fifo "$c"
done
# Graphviz renders in-process when built with it (else a .dot is written instead)
gvc=0
"$bmnn" dot model.json -o probe.svg >out.txt 2>&1 && grep -qx "wrote probe.svg" out.txt && gvc=1
if [ "$gvc" -eq 1 ]; then
    mkfifo graph.svg
    expect 1 "dot -o FIFO.svg" -- "$bmnn" dot model.json -o graph.svg
    has err.txt "graph.svg: is a FIFO, not a regular file: not replaced" "FIFO svg named"
    is_fifo graph.svg "dot -o FIFO.svg"
fi
mkfifo plot-loss.png plot-history.csv # the PNG with cairo, the CSV without
expect 1 "train --plot onto a FIFO" -- "$bmnn" train small.json --data train.csv -q --epochs 2 --plot plot
has err.txt "is a FIFO, not a regular file: not replaced" "plot FIFO named"
is_fifo plot-loss.png "--plot"
is_fifo plot-history.csv "--plot"
expect 1 "predict -o /dev/null" -- "$bmnn" predict model.json --data train.csv -o /dev/null
has err.txt "/dev/null: is a character device, not a regular file: not replaced" "device target named"
[ -c /dev/null ] && ok || bad "/dev/null is no longer a device"
no_temps "special targets"
# a valid 255-byte output name works (the temporary's name is shortened)
long=$(printf 'n%.0s' $(seq 1 250)) # + ".json" (or "x.csv") = 255 bytes
expect 0 "data -o a 255-byte name" -- "$bmnn" data spiral -o "${long}x.csv"
expect 0 "predict -o a 255-byte name" -- "$bmnn" predict model.json --data train.csv -o "${long}x.csv"
head -1 "${long}x.csv" | grep -qx "class,p0,p1,p2" && ok || bad "predict to a long name wrote $(head -c 100 "${long}x.csv")"
expect 0 "train -o a 255-byte name" -- "$bmnn" train small.json --data train.csv -q --epochs 2 --checkpoint-every 1 -o "$long.json"
expect 0 "eval the 255-byte checkpoint" -- "$bmnn" eval "$long.json" --data train.csv
expect 0 "dot -o a 255-byte name" -- "$bmnn" dot model.json -o "${long}x.svg"
[ -s "${long}x.svg" ] || [ -s "${long}x.dot" ] && ok || bad "dot to a long name wrote nothing"
no_temps "255-byte names"
# a write that fails (the file size limit, as a full disk would) keeps the old
# file, says the system's reason and leaves no temporary
fsize_fails() { # WHAT FILE -- command...: run under a 1 KiB file size limit
    local what=$1 file=$2
    shift 3
    printf 'old\n' >"$file"
    (trap '' XFSZ; ulimit -f 1; timeout "$CLI_LIMIT" "$@" >out.txt 2>err.txt)
    local got=$?
    [ "$got" -eq 1 ] && ok || bad "$what: exit $got, want 1 ($(head -c 300 err.txt))"
    has err.txt "$file: cannot write: File too large" "$what: reason named"
    [ "$(cat "$file")" = old ] && ok || bad "$what: the old $file was changed"
    no_temps "$what"
}
fsize_fails "data -o" big.csv -- "$bmnn" data spiral --samples 500 -o big.csv
fsize_fails "predict -o" pred.csv -- "$bmnn" predict model.json --data train.csv -o pred.csv
fsize_fails "dot -o .dot" g.dot -- "$bmnn" dot model.json --backward -o g.dot
fsize_fails "dot -o .json" g.json -- "$bmnn" dot model.json --backward -o g.json
[ "$gvc" -eq 1 ] && fsize_fails "dot -o .svg" g.svg -- "$bmnn" dot model.json --backward -o g.svg
wide_spec='{"inputs": 2, "layers": [{"type": "dense", "in": 2, "out": 64}, {"type": "relu"},
 {"type": "dense", "in": 64, "out": 3}], "loss": "softmax_cce", "optimizer": {"type": "adam"}}'
printf '%s' "$wide_spec" >wide.json
fsize_fails "train -o" m.json -- "$bmnn" train wide.json --data train.csv -q --epochs 1 -o m.json
has err.txt "m.json: cannot write" "train -o: the save failed"
fsize_fails "train --checkpoint-every" c.json -- "$bmnn" train wide.json --data train.csv -q --epochs 3 --checkpoint-every 1 -o c.json
has err.txt "checkpoint at epoch 1" "checkpoint failure names the epoch"
if "$bmnn" data spiral --samples 2 -o /dev/null 2>/dev/null; then bad "data -o /dev/null succeeded"; else ok; fi

# ---- 6. SIGINT / SIGTERM during --checkpoint-every
EPOCHS=3000                     # a few seconds: the signal lands mid-run
[ -n "${BMNN_WRAP:-}" ] && EPOCHS=200 # under valgrind each epoch is ~50x slower
run=("$bmnn" train small.json --data train.csv --epochs "$EPOCHS" --shuffle --checkpoint-every 1)
"${run[@]}" -q -o ref.json >/dev/null 2>&1 || bad "reference run failed"
state_epoch() { sed -n 's/^  "state": {"epoch": \([0-9]*\),.*/\1/p' "$1"; }
# wait_for FILE: until it exists (the run is checkpointing: the handler is set)
wait_for() { local i; for i in $(seq 1 600); do [ -e "$1" ] && return 0; kill -0 "$pid" 2>/dev/null || return 1; sleep 0.05; done; return 1; }
for sig in INT TERM INT TERM; do
    rm -f ck.json
    "${run[@]}" -q -o ck.json >/dev/null 2>sig.err &
    pid=$!
    if ! wait_for ck.json; then
        bad "SIG$sig: no checkpoint appeared: $(head -c 300 sig.err)"
        kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""
        continue
    fi
    sleep "0.0$((RANDOM % 10))"
    kill -"$sig" "$pid"
    wait "$pid"
    rc=$?
    pid=""
    want=$([ "$sig" = INT ] && echo 130 || echo 143)
    [ "$rc" -eq "$want" ] && ok || bad "SIG$sig: exit $rc, want $want ($(head -c 300 sig.err))"
    grep -qE "^bmnn train: interrupted by SIG$sig in epoch [0-9]+; kept the last checkpoint ck.json \(epoch [0-9]+\)$" sig.err &&
        ok || bad "SIG$sig message: $(head -c 300 sig.err)"
    no_temps "SIG$sig"
    e=$(state_epoch ck.json)
    kept=$(sed -n 's/.*(epoch \([0-9]*\))$/\1/p' sig.err)
    [ -n "$e" ] && [ "$e" = "$kept" ] && ok || bad "SIG$sig: ck.json is at epoch '$e', the message says '$kept'"
    if "$bmnn" train ck.json --data train.csv --shuffle -q -o resumed.json >/dev/null 2>res.err; then
        cmp -s resumed.json ref.json && ok || bad "SIG$sig: resuming epoch $e differs from the uninterrupted run"
    else
        bad "SIG$sig: resume failed: $(head -c 300 res.err)"
    fi
done
# before the first checkpoint is due: nothing saved, nothing left
"$bmnn" train small.json --data train.csv --epochs "$EPOCHS" --checkpoint-every 1000000 -p 1 -o never.json >/dev/null 2>sig.err &
pid=$!
for i in $(seq 1 600); do grep -q "^epoch: " sig.err && break; sleep 0.05; done
kill -INT "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 130 ] && ok || bad "early SIGINT: exit $rc ($(tail -c 300 sig.err))"
has sig.err "nothing was saved (no checkpoint was due yet)" "early SIGINT message"
[ -e never.json ] && bad "an interrupted run saved never.json" || ok
no_temps "early SIGINT"

# outside train SIGINT/SIGTERM are held back while a file is written: it acts after
# the rename, so the file is whole and no temporary is left
SAMPLES=300000
[ -n "${BMNN_WRAP:-}" ] && SAMPLES=20000
"$bmnn" data spiral --samples "$SAMPLES" -o big.csv >/dev/null 2>sig.err &
pid=$!
seen=0
for i in $(seq 1 2000); do
    compgen -G 'big.csv.tmp.*' >/dev/null && { seen=1; break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
done
kill -TERM "$pid" 2>/dev/null # (a background job of a script ignores SIGINT)
wait "$pid"
rc=$?
pid=""
if [ "$seen" -eq 1 ]; then # the signal came while the file was being written
    [ "$rc" -eq 143 ] && ok || bad "SIGTERM during data -o: exit $rc, want 143 ($(head -c 300 sig.err))"
    [ "$(wc -l <big.csv)" -eq $((3 * SAMPLES + 1)) ] && ok || bad "data -o interrupted: big.csv has $(wc -l <big.csv) lines"
fi
no_temps "SIGTERM during data -o"
rm -f big.csv

# ---- 7. one strict parser for every numeric flag, checked before any work
for v in " 1" "-1" " -1" "+5" "1e3" "0x10" "18446744073709551616" "18446744073709551615" "9007199254740993" "" "5 "; do
    expect 2 "--epochs '$v'" -- "$bmnn" train small.json --data train.csv -q --epochs "$v" -o never.json
    has err.txt "--epochs: '$v' is not an integer in [0, 9007199254740992]" "--epochs '$v' named"
done
expect 2 "--seed past the model file's limit" -- "$bmnn" train small.json --data train.csv -q --seed 9007199254740993 -o never.json
has err.txt "--seed: '9007199254740993' is not an integer in [0, 9007199254740992]" "--seed limit named"
[ -e never.json ] && bad "a refused run wrote never.json" || ok
expect 2 "--epochs past the model's epoch" -- "$bmnn" train model.json --data train.csv -q --epochs 9007199254740992 -o never.json
has err.txt "model.json is at epoch 40, and a model file counts at most 2^53 epochs" "epoch end named"
expect 2 "--batch ' 3'" -- "$bmnn" train small.json --data train.csv -q --batch " 3"
expect 2 "--threads 0" -- "$bmnn" train small.json --data train.csv -q --threads 0
has err.txt "--threads: '0' is not an integer in [1, 256]" "--threads range named"
expect 2 "--threads 257" -- "$bmnn" train small.json --data train.csv -q --threads 257
expect 2 "--print-every -1" -- "$bmnn" train small.json --data train.csv -q --print-every -1
expect 2 "--checkpoint-every ' 2'" -- "$bmnn" train small.json --data train.csv -q --checkpoint-every " 2" -o c.json
expect 2 "--val-split ' 0.5'" -- "$bmnn" train small.json --data train.csv -q --val-split " 0.5"
expect 2 "--val-split 1e999" -- "$bmnn" train small.json --data train.csv -q --val-split 1e999
expect 2 "data --samples ' 5'" -- "$bmnn" data spiral --samples " 5" -o never.csv
expect 2 "data --classes 0" -- "$bmnn" data spiral --classes 0 -o never.csv
expect 2 "data --seed -1" -- "$bmnn" data spiral --seed -1 -o never.csv
expect 0 "data --seed 2^64-1" -- "$bmnn" data spiral --seed 18446744073709551615 -o seed.csv
expect 2 "dot --batch ' 1'" -- "$bmnn" dot model.json --batch " 1"
expect 2 "gradcheck --batch 0" -- "$bmnn" gradcheck --model model.json --batch 0
expect 2 "gradcheck --order ' 2'" -- "$bmnn" gradcheck --order " 2"

# ---- 8. values checked against their domain
printf '%s' '{"inputs": 2, "layers": [{"type": "dense", "in": 2, "out": 1}, {"type": "sigmoid"}],
 "loss": "bce", "optimizer": {"type": "sgd"}}' >bce.json
printf 'x0,x1,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,2\n' >bce2.csv
printf 'x0,x1,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,1\n' >bce.csv
expect 1 "train bce on a target of 2" -- "$bmnn" train bce.json --data bce2.csv -q -o never.json
has err.txt "training data: row 2, column 0 has target 2; bce targets must be in [0, 1]" "bce target named"
expect 0 "train bce" -- "$bmnn" train bce.json --data bce.csv -q --epochs 5 -o bcem.json
expect 1 "eval bce on a target of 2" -- "$bmnn" eval bcem.json --data bce2.csv
has err.txt "evaluation data: row 2, column 0 has target 2" "eval: bce target named"
"$bmnn" train wide.json --data train.csv -q --epochs 2 -o adam.json >/dev/null || bad "adam run failed"
# the first value of the cache (Adam's second moment) made negative
python3 -c 'import json; d = json.load(open("adam.json")); d["optimizer"]["state"]["cache"][0] = -0.5
json.dump(d, open("negcache.json", "w"))' || bad "cannot edit adam.json"
expect 1 "train from a negative Adam cache" -- "$bmnn" train negcache.json --data train.csv -q --epochs 1
has err.txt "negcache.json: optimizer.state.cache[0]: -0.5 is negative" "negative cache named by its path"
expect 1 "eval of a negative Adam cache" -- "$bmnn" eval negcache.json --data train.csv

no_temps "the end"
cli_summary
