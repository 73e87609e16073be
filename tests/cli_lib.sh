# cli_lib.sh — what every CLI test script shares. A script run as
# `SCRIPT BMNN SRCDIR` sources it and calls cli_setup "$@"; one that sets
# $bmnn (the program) and $work (its temporary directory, the cwd) itself
# sources it after doing so.
#   BMNN_WRAP="valgrind ..." runs every bmnn under that command (.ci/run does
#   so with memcheck): $bmnn becomes a script in $work that execs it.
#   CLI_LIMIT=S: expect stops a command after S seconds (exit 124), so one
#   that would block forever fails its case instead of hanging the test.
# Counts checks in $pass/$fail; end a script with cli_summary.
# cli_wrap: $bmnn under $BMNN_WRAP, when set
cli_wrap() {
    if [ -n "${BMNN_WRAP:-}" ]; then
        printf '#!/usr/bin/env bash\nexec %s %q "$@"\n' "$BMNN_WRAP" "$bmnn" >"$work/bmnn-wrapped"
        chmod +x "$work/bmnn-wrapped"
        bmnn="$work/bmnn-wrapped"
    fi
}
# cli_setup BMNN SRCDIR: $bmnn and $src as absolute paths, a fresh $work
# (removed on exit) as the cwd, $bmnn wrapped
cli_setup() {
    bmnn=$(realpath "$1")
    src=$(realpath "$2")
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cd "$work" || exit 1
    cli_wrap
}
[ -n "${bmnn:-}" ] && cli_wrap
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect STATUS DESCRIPTION -- command...: run (stdout in out.txt, stderr in
# err.txt), check the exit status
expect() {
    local want=$1 what=$2
    shift 3
    if [ -n "${CLI_LIMIT:-}" ]; then
        timeout "$CLI_LIMIT" "$@" >out.txt 2>err.txt
    else
        "$@" >out.txt 2>err.txt
    fi
    local got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, want $want ($(head -c 300 err.txt))"; fi
}
# has FILE TEXT DESCRIPTION / hasnt FILE TEXT DESCRIPTION: FILE does (not) contain TEXT
has() { if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1: $(head -c 300 "$1")"; fi; }
hasnt() { if grep -qF -- "$2" "$1"; then bad "$3: '$2' in $1: $(grep -F -- "$2" "$1" | head -2)"; else ok; fi; }
# py DESCRIPTION CODE: a Python assertion over the files here
py() { if python3 -c "$2" 2>py.txt; then ok; else bad "$1: $(tail -c 300 py.txt)"; fi; }
# The last line: "N passed, N failed"; the status is 0 when none failed.
cli_summary() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
