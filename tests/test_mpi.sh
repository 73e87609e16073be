#!/usr/bin/env bash
# test_mpi.sh BMNN SRCDIR [DIST_SPIRAL] — `mpirun -np N bmnn train --shards S` against one
# process with the same shards: byte-identical checkpoints for N = 1, 2, 4
# (oversubscribed on a small machine), --shards 1 equal to plain training
# for a model without dropout, a checkpoint of N = 2 resumed on N = 4
# equal to the uninterrupted run, bad launches (N not dividing S, S not
# dividing the batch, ranks given different data or models) failing with
# the message on every rank within a time limit, and a rank SIGKILLed
# mid-run ending the job with an error within a bounded time while the
# checkpoint on disk stays loadable and resumes to the same bits; with
# DIST_SPIRAL (examples/dist_spiral.c), its line on 1, 2 and 4 ranks; the
# zoo's MNIST CNN and character GPT byte-identical on 1, 2 and 4 ranks too.
# Skips (77) without mpirun or in a build without MPI. BM_MPI_KILLS sets
# the kills (default 4). Ends with "N passed, N failed".
set -u
bmnn=$(realpath "$1")
src=$(realpath "$2")
example=${3:+$(realpath "$3")}
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: no mpirun"; exit 77; }
"$bmnn" --version | grep -q "mpi=yes" || { echo "SKIP: bmnn built without MPI"; exit 77; }
work=$(mktemp -d)
cd "$work" || exit 1
mpid=""
cleanup() {
    [ -n "$mpid" ] && kill -KILL "$mpid" 2>/dev/null
    cd / && rm -rf "$work"
}
trap cleanup EXIT
source "$src/tests/cli_lib.sh"

LIMIT=120        # seconds any one launch may take (a hang fails, not blocks)
KILL_LIMIT=30    # seconds from a rank's SIGKILL to the job's end
ZOO_LIMIT=600    # seconds one launch of a zoo model may take (ASan, 4 ranks on 2 cores)
EPOCHS=12
SHARDS=4
# Under ASan, LeakSanitizer's check of the MPI runs is off: OpenMPI's plugins
# keep memory that MPI_Finalize's dlclose leaves unnamed (no suppression can
# match it). The one-process runs here and the dist suite keep the check.
mpi=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0" mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
export OMPI_MCA_rmaps_base_oversubscribe=1
# containers often forbid the cross-memory attach of OpenMPI's single-copy path
export OMPI_MCA_btl_vader_single_copy_mechanism=none
CLI_LIMIT=$LIMIT

"$bmnn" data spiral --samples 100 --classes 3 --seed 7 -o train.csv >/dev/null || exit 1
"$bmnn" data spiral --samples 100 --classes 3 --seed 8 -o other.csv >/dev/null || exit 1
model="$src/tests/data/cli_small.json"   # dropout, L2, SGD with momentum, batches of 32
sed 's/"rate": 0.1/"rate": 0.0/' "$model" >nodrop.json
sed 's/"seed": 3/"seed": 4/' "$model" >seed4.json
# 300 rows, batches of 32: the last batch has 12 rows, 4 shards of 3
args=(--data train.csv --epochs "$EPOCHS" --shuffle -q --shards "$SHARDS")

# ---- the same bits for every rank count
# same_bits NAME MODEL ARGS...: one process with ARGS (which hold --shards)
# against mpirun -np 1, 2, 4; leaves NAME-one.json
same_bits() {
    local name=$1 mod=$2 np
    shift 2
    expect 0 "$name: one process" -- "$bmnn" train "$mod" "$@" -o "$name-one.json"
    for np in 1 2 4; do
        expect 0 "$name: mpirun -np $np" -- "${mpi[@]}" -np "$np" "$bmnn" train "$mod" "$@" -o "$name-np$np.json"
        if cmp -s "$name-one.json" "$name-np$np.json"; then ok; else bad "$name: -np $np differs from one process"; fi
        has err.txt "data-parallel: $np rank" "$name: -np $np reports its ranks"
    done
}
same_bits spiral "$model" "${args[@]}"
cp spiral-one.json one.json
# The zoo's models, as committed, on small data: the MNIST CNN on 16
# synthetic 28x28 images (a bright row band per class), the character GPT
# on 16 windows of 128 bytes (of a committed text repeated) with a target per position (`bmnn data text
# --sequence`); one 4-shard batch each (a GPT step under ASan on 4
# oversubscribed ranks takes tens of seconds: ZOO_LIMIT per launch). BM_MPI_ZOO="MODEL.json|DATA|
# ARGS;..." adds runs of one's own (e.g. the CNN on the MNIST sample).
awk 'BEGIN { srand(5); for (r = 0; r < 16; r++) { c = r % 10; line = "";
      for (i = 0; i < 784; i++) line = line sprintf("%.3f,", (int(i / 28) % 10 == c) ? 0.5 + rand() / 2 : rand() / 5);
      print line c } }' >images.csv
for _ in 1 2 3 4 5 6 7 8 9 10 11 12; do cat "$src/tests/data/text_small.txt"; done >text.txt
"$bmnn" data text text.txt --context 128 --random 16 --seed 2 --sequence -o windows.csv >/dev/null || exit 1
zoo=("examples/zoo/mnist_cnn.json|images.csv|--epochs 1 --batch 16 --shards 4"
     "examples/zoo/char_gpt.json|windows.csv|--epochs 1 --batch 16 --shards 4")
CLI_LIMIT=$ZOO_LIMIT
IFS=';' read -r -a extra <<<"${BM_MPI_ZOO:-}"
for entry in "${zoo[@]}" "${extra[@]}"; do
    IFS='|' read -r zmodel zdata zargs <<<"$entry"
    [ -e "$zmodel" ] || zmodel="$src/$zmodel"
    # shellcheck disable=SC2086  # ARGS are words
    same_bits "zoo-$(basename "$zmodel" .json)" "$zmodel" --data "$zdata" -q $zargs
done
# the GPT has no dropout: --shards 1 is plain training, bit for bit
gpt="$src/examples/zoo/char_gpt.json"
expect 0 "zoo-char_gpt: plain" -- "$bmnn" train "$gpt" --data windows.csv --epochs 1 --batch 16 -q -o gpt-plain.json
expect 0 "zoo-char_gpt: --shards 1" -- "$bmnn" train "$gpt" --data windows.csv --epochs 1 --batch 16 -q --shards 1 -o gpt-s1.json
if cmp -s gpt-plain.json gpt-s1.json; then ok; else bad "zoo-char_gpt: --shards 1 differs from plain training"; fi
CLI_LIMIT=$LIMIT
expect 0 "--shards 2" -- "$bmnn" train "$model" --data train.csv --epochs "$EPOCHS" --shuffle -q --shards 2 -o two.json
if cmp -s one.json two.json; then bad "2 and 4 shards gave the same checkpoint"; else ok; fi
# only rank 0 writes: one 'saved' line
expect 0 "-np 2 output" -- "${mpi[@]}" -np 2 "$bmnn" train "$model" "${args[@]}" -o np2b.json
[ "$(grep -c '^saved np2b.json' out.txt)" -eq 1 ] && ok || bad "not one 'saved' line: $(cat out.txt)"

# ---- --shards 1 is plain training (no dropout: the masks' streams differ)
expect 0 "plain" -- "$bmnn" train nodrop.json --data train.csv --epochs "$EPOCHS" --shuffle -q -o plain.json
expect 0 "--shards 1" -- "$bmnn" train nodrop.json --data train.csv --epochs "$EPOCHS" --shuffle -q --shards 1 -o s1.json
if cmp -s plain.json s1.json; then ok; else bad "--shards 1 differs from plain training"; fi

# ---- resume with another rank count
half=$((EPOCHS / 2))
expect 0 "-np 2 first half" -- "${mpi[@]}" -np 2 "$bmnn" train "$model" --data train.csv --epochs "$half" --shuffle -q --shards "$SHARDS" -o half.json
expect 0 "-np 4 resume" -- "${mpi[@]}" -np 4 "$bmnn" train half.json --data train.csv --epochs $((EPOCHS - half)) --shuffle -q --shards "$SHARDS" -o rest.json
if cmp -s one.json rest.json; then ok; else bad "2 ranks, then a resume on 4, differ from one run"; fi

# ---- the fast reduction runs (its bits are not promised)
expect 0 "--allreduce" -- "${mpi[@]}" -np 2 "$bmnn" train "$model" "${args[@]}" --allreduce -o fast.json
has err.txt "MPI_Allreduce: not bit-reproducible" "--allreduce says so"

# ---- a program of one's own: bm_dist_fit_mpi (examples/dist_spiral.c)
if [ -n "$example" ]; then
    expect 0 "dist_spiral -np 1" -- "${mpi[@]}" -np 1 "$example"
    cp out.txt spiral1.txt
    has spiral1.txt "parameters " "dist_spiral prints its result"
    for np in 2 4; do
        expect 0 "dist_spiral -np $np" -- "${mpi[@]}" -np "$np" "$example"
        if cmp -s spiral1.txt out.txt; then ok; else bad "dist_spiral -np $np: $(cat out.txt) vs $(cat spiral1.txt)"; fi
    done
fi

# ---- bad launches: a message on every rank, no hang
# every_rank N TEXT WHAT: err.txt holds TEXT N times (once per rank)
every_rank() {
    local got
    got=$(grep -oF -- "$2" err.txt | wc -l)   # the ranks' lines may interleave
    [ "$got" -eq "$1" ] && ok || bad "$3: '$2' on $got of $1 ranks: $(head -c 400 err.txt)"
}
expect 1 "-np 3, 4 shards" -- "${mpi[@]}" -np 3 "$bmnn" train "$model" "${args[@]}"
every_rank 3 "4 shards over 3 ranks: the number of ranks must divide the shards" "-np 3"
expect 1 "batch 30, 4 shards" -- "${mpi[@]}" -np 2 "$bmnn" train "$model" "${args[@]}" --batch 30
every_rank 2 "batch size 30 does not split into 4 equal shards" "batch 30"
expect 1 "different data" -- "${mpi[@]}" -np 1 "$bmnn" train "$model" "${args[@]}" : \
    -np 1 "$bmnn" train "$model" --data other.csv --epochs "$EPOCHS" --shuffle -q --shards "$SHARDS"
every_rank 2 "the training data: rank 1 differs from rank 0's" "different data"
expect 1 "different models" -- "${mpi[@]}" -np 1 "$bmnn" train "$model" "${args[@]}" : \
    -np 1 "$bmnn" train seed4.json "${args[@]}"
every_rank 2 "the model (parameters, optimizer, RNG, epoch): rank 1 differs" "different models"
expect 1 "different shards" -- "${mpi[@]}" -np 1 "$bmnn" train "$model" "${args[@]}" : \
    -np 1 "$bmnn" train "$model" --data train.csv --epochs "$EPOCHS" --shuffle -q --shards 2
every_rank 2 "the training settings (shards, batch, bucket, epochs, shuffle): rank 1 differs" \
    "different --shards"

# ---- a rank SIGKILLed mid-run
KILLS=${BM_MPI_KILLS:-4}
LONG=3000   # epochs: seconds of checkpointing every epoch
RANDOM=${BM_KILL_SEED:-4242}
expect 0 "reference for the kills" -- "$bmnn" train "$model" --data train.csv --epochs "$LONG" --shuffle -q --shards "$SHARDS" -o ref.json
for k in $(seq 1 "$KILLS"); do
    rm -f ck.json ck.json.tmp.*
    "${mpi[@]}" -np 2 "$bmnn" train "$model" --data train.csv --epochs "$LONG" --shuffle -q \
        --shards "$SHARDS" --checkpoint-every 1 -o ck.json >kill.out 2>kill.err &
    mpid=$!
    waited=0
    while [ ! -e ck.json ] && kill -0 "$mpid" 2>/dev/null && [ "$waited" -lt $((LIMIT * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    sleep "0.$((RANDOM % 9 + 1))"
    ranks=$(pgrep -P "$mpid" -x bmnn)
    victim=$(echo "$ranks" | sed -n "$((k % 2 + 1))p")   # rank 0 or rank 1 in turn
    if [ -z "$victim" ]; then
        bad "kill $k: no rank left to kill (ranks: $ranks; $(head -c 300 kill.err))"
        wait "$mpid"
        mpid=""
        continue
    fi
    kill -KILL "$victim"
    t0=$(date +%s)
    while kill -0 "$mpid" 2>/dev/null && [ $(($(date +%s) - t0)) -lt "$KILL_LIMIT" ]; do sleep 0.1; done
    if kill -0 "$mpid" 2>/dev/null; then
        bad "kill $k: the job still runs ${KILL_LIMIT}s after a rank died"
        kill -KILL "$mpid"
    else
        ok
    fi
    wait "$mpid"
    rc=$?
    mpid=""
    [ "$rc" -ne 0 ] && ok || bad "kill $k: mpirun exited 0 after a rank was killed"
    grep -qiE "signal 9|killed" kill.err && ok || bad "kill $k: no word of the killed rank: $(tail -c 300 kill.err)"
    rm -f ck.json.tmp.*   # a kill between a temp file's creation and its rename leaves one
    if [ -e ck.json ]; then
        expect 0 "kill $k: the checkpoint loads" -- "$bmnn" eval ck.json --data train.csv
        expect 0 "kill $k: resume on 4 ranks" -- "${mpi[@]}" -np 4 "$bmnn" train ck.json --data train.csv --shuffle -q --shards "$SHARDS" -o resumed.json
        if cmp -s ref.json resumed.json; then ok; else bad "kill $k: the resumed run differs from the uninterrupted one"; fi
    else
        bad "kill $k: no checkpoint was written before the kill"
    fi
done
cli_summary
