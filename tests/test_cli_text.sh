#!/usr/bin/env bash
# test_cli_text.sh BMNN SRCDIR — `bmnn data text`: windows of a committed
# text as CSV (contents, counts, the validation file, UTF-8 ids and the
# vocabulary), seeded random windows, bad input with its exit status and
# message, and `bmnn train` reading what it wrote. Ends with "N passed, N failed".
set -u
bmnn=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
. "$src/tests/cli_lib.sh"
text="$src/tests/data/text_small.txt" # 113 bytes, 102 code points, 35 distinct
same() { if [ "$1" = "$2" ]; then ok; else bad "$3: got '$1', want '$2'"; fi; }

# a hand-made text: windows at 0, 2, 4 of "abcdefgh" (a = 97)
printf 'abcdefgh' >abc.txt
expect 0 "text stride 2" -- "$bmnn" data text abc.txt --context 3 --stride 2 -o abc.csv
same "$(cat abc.csv)" "$(printf 'x0,x1,x2,label\n97,98,99,100\n99,100,101,102\n101,102,103,104')" "abc windows"
has out.txt "wrote abc.csv: 3 training windows of 3 tokens, vocabulary 256" "summary line"
# every position, and a split: 80 training windows of [0, 84), 25 validation ones of [84, 113)
expect 0 "text split" -- "$bmnn" data text "$text" --context 4 --val-split 0.25 -o t.csv
same "$(($(wc -l <t.csv) - 1))" 80 "training rows"
same "$(($(wc -l <t-val.csv) - 1))" 25 "validation rows (default name)"
# the last training window's label is token 83, the first validation window starts at 84
same "$(tail -n 1 t.csv | cut -d, -f5)" "$(od -An -tu1 -j83 -N1 "$text" | tr -d ' ')" "last training label"
same "$(sed -n 2p t-val.csv | cut -d, -f1)" "$(od -An -tu1 -j84 -N1 "$text" | tr -d ' ')" "first validation token"
expect 0 "text --val-output" -- "$bmnn" data text "$text" --context 4 --val-split 0.25 --val-output v.csv -o t2.csv
if cmp -s v.csv t-val.csv; then ok; else bad "--val-output differs from the default file"; fi
# UTF-8: ids of the sorted code points, the vocabulary file
expect 0 "text --utf8" -- "$bmnn" data text "$text" --context 8 --utf8 --vocab vocab.csv -o u.csv
has out.txt "94 training windows of 8 tokens, vocabulary 35" "utf8 summary"
same "$(head -n 1 vocab.csv)" "id,symbol" "vocabulary header"
same "$(($(wc -l <vocab.csv) - 1))" 35 "vocabulary size"
same "$(tail -n 1 vocab.csv)" "34,128512" "largest code point (U+1F600) last"
# seeded random windows: the same seed, the same file; another seed, another one
expect 0 "text random" -- "$bmnn" data text "$text" --context 4 --random 30 --seed 5 -o r1.csv
expect 0 "text random again" -- "$bmnn" data text "$text" --context 4 --random 30 --seed 5 -o r2.csv
expect 0 "text random seed 6" -- "$bmnn" data text "$text" --context 4 --random 30 --seed 6 -o r3.csv
if cmp -s r1.csv r2.csv; then ok; else bad "same seed, different windows"; fi
if cmp -s r1.csv r3.csv; then bad "seeds 5 and 6 gave the same windows"; else ok; fi
same "$(($(wc -l <r1.csv) - 1))" 30 "random rows"

# bad input: nothing written
: >empty.txt
expect 1 "text empty file" -- "$bmnn" data text empty.txt --context 2 -o x.csv
has err.txt "empty.txt: empty text (0 bytes)" "empty file message"
mkfifo in.fifo
expect 1 "text FIFO" -- "$bmnn" data text in.fifo --context 2 -o x.csv
has err.txt "in.fifo: is a FIFO, not a regular file" "FIFO message"
printf 'ab\377cd' >latin.txt
expect 1 "text invalid UTF-8" -- "$bmnn" data text latin.txt --context 2 --utf8 -o x.csv
has err.txt "latin.txt: invalid UTF-8 at byte offset 2 (0xff)" "invalid UTF-8 message"
expect 1 "text T >= length" -- "$bmnn" data text abc.txt --context 8 -o x.csv
has err.txt "context 8 needs 9 tokens, the range [0, 8) holds 8" "context too long message"
expect 1 "text validation part too short" -- "$bmnn" data text abc.txt --context 2 --val-split 0.2 -o x.csv
has err.txt "the validation part" "short validation part named"
expect 1 "text missing file" -- "$bmnn" data text none.txt --context 2 -o x.csv
has err.txt "none.txt" "missing file named"
[ -e x.csv ] || [ -e x-val.csv ] && bad "a failed run left a file" || ok
expect 2 "text without --context" -- "$bmnn" data text abc.txt -o x.csv
expect 2 "text --context 0" -- "$bmnn" data text abc.txt --context 0 -o x.csv
expect 2 "text --stride 0" -- "$bmnn" data text abc.txt --context 2 --stride 0 -o x.csv
expect 2 "text --stride with --random" -- "$bmnn" data text abc.txt --context 2 --stride 2 --random 3 -o x.csv
expect 2 "text --val-split 1" -- "$bmnn" data text abc.txt --context 2 --val-split 1 -o x.csv
expect 2 "text --val-output alone" -- "$bmnn" data text abc.txt --context 2 --val-output v.csv -o x.csv
expect 2 "text absurd --context" -- "$bmnn" data text abc.txt --context 99999999999999999999 -o x.csv
expect 2 "text without FILE" -- "$bmnn" data text --context 2 -o x.csv
expect 2 "text --samples" -- "$bmnn" data text abc.txt --context 2 --samples 3 -o x.csv
expect 2 "spiral --context" -- "$bmnn" data spiral --context 3 -o x.csv

# bmnn train reads the windows (4 token columns, 256 classes)
expect 0 "train on text windows" -- "$bmnn" train "$src/tests/data/cli_text.json" --data t.csv --val t-val.csv -q -o m.json
has out.txt "saved m.json" "trained on text windows"

# a char LSTM (embedding -> lstm, last step -> dense) learns a repetitive
# text's next characters (12 distinct ones) from the windows' CSV
for k in $(seq 20); do printf 'the cat sat on the mat. the cat ate the rat. '; done >cat.txt
expect 0 "text windows for the LSTM" -- "$bmnn" data text cat.txt --context 8 --stride 6 --utf8 -o cat.csv
has out.txt "149 training windows of 8 tokens, vocabulary 12" "LSTM windows"
expect 0 "train a char LSTM" -- "$bmnn" train "$src/tests/data/cli_text_lstm.json" --data cat.csv -q -o lstm.json
expect 0 "evaluate the char LSTM" -- "$bmnn" eval lstm.json --data cat.csv --json
py "char LSTM accuracy" "import json; a = json.load(open('out.txt'))['accuracy']; assert a > 0.8, a"

# a sequence model (every position's next character, lstm sequences: true)
# reads `--sequence` windows: 8 token columns, then 8 target columns
sed 's/"sequences": false/"sequences": true/' "$src/tests/data/cli_text_lstm.json" >seq.json
expect 0 "sequence windows" -- "$bmnn" data text cat.txt --context 8 --stride 6 --utf8 --sequence -o seq.csv
has out.txt "149 training windows of 8 tokens, vocabulary 12" "sequence windows"
py "sequence windows: x then y columns" "
rows = [l.rstrip().split(',') for l in open('seq.csv')]
assert rows[0][:2] == ['x0', 'x1'] and rows[0][8:10] == ['y0', 'y1'] and len(rows[0]) == 16, rows[0]
r = rows[1]
assert r[1:8] == r[8:15], r  # y is x shifted by one position
"
expect 0 "train a sequence LSTM" -- "$bmnn" train seq.json --data seq.csv -q -o seq-m.json
expect 0 "evaluate the sequence LSTM" -- "$bmnn" eval seq-m.json --data seq.csv --json
py "sequence LSTM accuracy (every position)" "import json; a = json.load(open('out.txt'))['accuracy']; assert a > 0.6, a"
expect 0 "predict on sequence windows (targets unused)" -- "$bmnn" predict seq-m.json --data seq.csv -o pred.csv
expect 1 "a sequence model on one-label windows" -- "$bmnn" train seq.json --data cat.csv -q -o x.json
has err.txt "cat.csv: 9 columns, but the sequence model takes 8 features and 8 targets" "columns named"
expect 2 "spiral --sequence" -- "$bmnn" data spiral --sequence -o x.csv

cli_summary
