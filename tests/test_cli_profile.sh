#!/usr/bin/env bash
# test_cli_profile.sh BMNN SRCDIR — `bmnn train --profile`: the table after
# training has the header, a row per op kind and phase with the calls a run
# makes, and a total; profiling changes no bit of the trained model. Ends
# with "N passed, N failed".
set -u
. "$(dirname "$0")/cli_lib.sh"
cli_setup "$@"
# run DESCRIPTION command...: must exit 0 (stdout in out.txt)
run() {
    local what=$1
    shift
    if "$@" >out.txt 2>err.txt; then ok; else bad "$what: exit $? ($(head -c 300 err.txt))"; fi
}
# calls PHASE OP: the calls column of that row of out.txt (empty when none)
calls() { awk -v p="$1" -v o="$2" '$1 == p && $2 == o { print $3 }' out.txt; }

cp "$src/tests/data/cli_small.json" small.json # dense 2-8, tanh, dropout, dense 8-3
"$bmnn" data spiral --samples 50 --classes 3 --seed 1 -o train.csv >/dev/null || exit 1
run "train" "$bmnn" train small.json --data train.csv --epochs 10 -q -o plain.json
grep -q "GFLOP/s" out.txt && bad "a profile without --profile" || ok
run "train --profile" "$bmnn" train small.json --data train.csv --epochs 10 -q --profile -o prof.json
if cmp -s plain.json prof.json; then ok; else bad "--profile changed the trained model"; fi
grep -Eq '^phase +op +calls +seconds +share +GFLOP/s$' out.txt && ok || bad "no table header: $(head -c 300 out.txt)"
# 150 rows in batches of 32: 5 steps an epoch, two dense layers
[ "$(calls forward linear)" = 100 ] && ok || bad "forward linear calls '$(calls forward linear)', want 100"
[ "$(calls forward tanh)" = 50 ] && ok || bad "forward tanh calls '$(calls forward tanh)', want 50"
[ -n "$(calls backward matmul)" ] && ok || bad "no backward matmul row"
[ -z "$(calls forward matmul)" ] && ok || bad "a forward matmul row in a model of linear layers"
awk '$1 == "forward" && $2 == "linear" { exit !($6 + 0 > 0) }' out.txt && ok || bad "linear has no GFLOP/s"
awk '$1 == "forward" && $2 == "tanh" { exit !($6 == "-") }' out.txt && ok || bad "tanh shows a GFLOP/s"
# the total adds up the calls and is 100%
awk '$1 == "forward" || $1 == "backward" { s += $3 } $1 == "total" { t = $2; sh = $4 }
     END { exit !(s > 0 && s == t && sh == "100.0%") }' out.txt && ok || bad "total line does not add up: $(tail -1 out.txt)"
cli_summary
