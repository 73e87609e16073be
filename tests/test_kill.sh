#!/usr/bin/env bash
# test_kill.sh BMNN SRCDIR — crash-safe checkpoints. `bmnn train
# --checkpoint-every 1 -o ck.json` rewrites ck.json after every epoch
# (bm_model_save: temp file, fsync, rename). We SIGKILL such runs after a
# random 10-300 ms and check what is left on disk:
#   - ck.json (when a save had completed) is a whole checkpoint: it parses,
#     `bmnn eval` loads it, its epoch is in range and it keeps the run's end;
#   - no temp file is left but at most one orphan ck.json.tmp.XXXXXX (a kill
#     between the temp file's creation and the rename leaves it; the real
#     file is never broken; we delete it, as a user would);
#   - resuming ck.json (without --epochs) gives a final model byte-identical
#     to the uninterrupted reference run's.
# While the reference run saves every epoch, a reader loads the file again
# and again: every read must see a whole checkpoint (the rename is atomic).
# A run that ends before its kill (a very fast disk) must equal the reference.
# BM_KILL_SEED picks the kill delays (default fixed). Ends with "N passed, N failed".
set -u
bmnn=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d)
cd "$work" || exit 1
pid=""   # the training run in flight (killed if the script is interrupted)
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    cd / && rm -rf "$work"
}
trap cleanup EXIT

EPOCHS=1000      # ~0.3 ms of training per epoch, plus a save (an fsync: 0.1-10 ms)
KILLS=15
MIN_MS=10
MAX_MS=300       # lowered to half the reference run's time when saves are fast
MIN_VERIFIED=8   # kills that must land after the first save, or the test says nothing
SEED=${BM_KILL_SEED:-4242}
RANDOM=$SEED

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
now_ms() { date +%s%3N; }
# state_epoch FILE / training_epochs FILE: from the lines bm_model_save writes
# (`bmnn eval` parses and validates the whole file)
state_epoch() { sed -n 's/^  "state": {"epoch": \([0-9]*\),.*/\1/p' "$1"; }
training_epochs() { sed -n 's/^  "training": {"epochs": \([0-9]*\),.*/\1/p' "$1"; }
# temps NAME: how many NAME.tmp.* files exist
temps() { local n=0 f; for f in "$1".tmp.*; do [ -e "$f" ] && n=$((n + 1)); done; echo "$n"; }

"$bmnn" data spiral --samples 100 --classes 3 --seed 7 -o train.csv >/dev/null || exit 1
# cli_small.json: 2-8-3 with tanh, dropout and L2; SGD with momentum and
# decay; batches of 32; shuffled: RNG, optimizer state and epoch all matter.
train=("$bmnn" train "$src/tests/data/cli_small.json" --data train.csv --epochs "$EPOCHS"
       --shuffle -q)
resume() { "$bmnn" train "$1" --data train.csv --shuffle -q -o "$2"; }

# ---- the reference: uninterrupted, saving every epoch, read meanwhile
t0=$(now_ms)
"${train[@]}" --checkpoint-every 1 -o ref.json >ref.out 2>ref.err &
pid=$!
reads=0
read_fail=0
while kill -0 "$pid" 2>/dev/null; do
    [ -e ref.json ] || continue
    if "$bmnn" eval ref.json --data train.csv >read.out 2>read.err; then
        reads=$((reads + 1))
    else
        read_fail=$((read_fail + 1))
        echo "read $((reads + read_fail)) failed: $(head -c 300 read.err)"
    fi
done
wait "$pid"
rc=$?
pid=""
ref_ms=$(($(now_ms) - t0))
[ "$rc" -eq 0 ] && ok || bad "reference run: exit $rc: $(head -c 300 ref.err)"
[ "$read_fail" -eq 0 ] && ok || bad "$read_fail of $((reads + read_fail)) concurrent reads failed"
[ "$reads" -gt 0 ] && ok || bad "the reader never saw ref.json"
[ "$(temps ref.json)" -eq 0 ] && ok || bad "temp files left by a finished run: $(ls ref.json.tmp.*)"
[ "$(state_epoch ref.json)" = "$EPOCHS" ] && ok || bad "ref.json is not at epoch $EPOCHS"
# checkpointing does not change training
"${train[@]}" -o plain.json >/dev/null && ok || bad "plain run failed"
cmp -s ref.json plain.json && ok || bad "--checkpoint-every 1 changed the trained model"
[ $((ref_ms / 2)) -lt "$MAX_MS" ] && MAX_MS=$((ref_ms / 2))
[ "$MAX_MS" -le "$MIN_MS" ] && MAX_MS=$((MIN_MS + 1))

# ---- kill, check, resume
verified=0
no_ckpt=0
finished=0
orphans=0
lo=$EPOCHS
hi=0
t0=$(now_ms)
for i in $(seq 1 "$KILLS"); do
    rm -f ck.json ck.json.tmp.* resumed.json
    ms=$((MIN_MS + RANDOM % (MAX_MS - MIN_MS + 1)))
    "${train[@]}" --checkpoint-every 1 -o ck.json >/dev/null 2>run.err &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    pid=""
    if [ "$rc" -ne 137 ]; then
        if [ "$rc" -eq 0 ] && cmp -s ck.json ref.json && [ "$(temps ck.json)" -eq 0 ]; then
            finished=$((finished + 1)) # done before the kill: a whole, equal run
        else
            bad "kill $i: the run ended with $rc before SIGKILL at $ms ms: $(head -c 300 run.err)"
        fi
        continue
    fi
    n=$(temps ck.json)
    [ "$n" -le 1 ] && ok || bad "kill $i ($ms ms): $n temp files: $(ls ck.json.tmp.*)"
    orphans=$((orphans + n))
    rm -f ck.json.tmp.*
    if [ ! -e ck.json ]; then
        no_ckpt=$((no_ckpt + 1)) # killed before the first save completed
        continue
    fi
    e=$(state_epoch ck.json)
    if [ -n "$e" ] && [ "$e" -ge 1 ] && [ "$e" -le "$EPOCHS" ]; then ok; else
        bad "kill $i ($ms ms): ck.json epoch '$e'"
        continue
    fi
    [ "$(training_epochs ck.json)" = "$EPOCHS" ] && ok ||
        bad "kill $i: ck.json does not keep the run's end ($EPOCHS epochs)"
    "$bmnn" eval ck.json --data train.csv >/dev/null 2>eval.err && ok ||
        bad "kill $i ($ms ms, epoch $e): eval failed: $(head -c 300 eval.err)"
    if resume ck.json resumed.json >/dev/null 2>resume.err; then
        if cmp -s resumed.json ref.json; then
            ok
            verified=$((verified + 1))
            [ "$e" -lt "$lo" ] && lo=$e
            [ "$e" -gt "$hi" ] && hi=$e
        else
            bad "kill $i ($ms ms): resuming epoch $e differs from the uninterrupted run"
        fi
    else
        bad "kill $i: resume failed: $(head -c 300 resume.err)"
    fi
done
kill_ms=$(($(now_ms) - t0))
[ "$verified" -ge "$MIN_VERIFIED" ] && ok ||
    bad "only $verified of $KILLS kills left a checkpoint to verify (want $MIN_VERIFIED)"

echo "reference: $EPOCHS epochs with a save each in $ref_ms ms; $reads concurrent reads, $read_fail failed"
echo "kills: $KILLS (seed $SEED, $MIN_MS-$MAX_MS ms) in $kill_ms ms: $verified checkpoints" \
     "resumed bit-identically (epochs $lo..$hi), $no_ckpt before the first save," \
     "$finished finished before the kill, $orphans orphan temp files removed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
