#!/usr/bin/env bash
# tlog against static logs written by tlog-mklog (a local directory source): the
# verifying commands, and each kind of tampering detected with exit 1 and a message
# naming it. Prints "ok - ..." / "not ok - ..." lines.
set -u
ROOT=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$ROOT" || exit 2
TLOG=$ROOT/$BIN/tlog
MKLOG=$ROOT/bin/tlog-mklog
[ -x "$MKLOG" ] || MKLOG=$ROOT/$BIN/tlog-mklog
T=$(mktemp -d /tmp/xt-tlog-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1"; fails=$((fails + 1)); }

# expect NAME RC PATTERN -- command...: exit status RC and PATTERN in stdout+stderr.
expect() {
  local name=$1 want=$2 pat=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$want" ] && { [ -z "$pat" ] || grep -qE -- "$pat" <<<"$out"; }; then
    ok "$name"
  else
    nok "$name (exit $rc, want $want; pattern '$pat')"
    printf '%s\n' "$out" | head -n 8 | sed 's/^/#   /'
  fi
}

$MKLOG --dir "$T/a" --count 1000 --checkpoints 300,700 || { nok "mklog"; exit 1; }
KEY=$(cat "$T/a/verifier-key")
A=(--log "$T/a" --key "$KEY")

# --- happy paths ---
expect "checkpoint verifies (key string)" 0 "size +1000" -- "$TLOG" checkpoint "${A[@]}"
expect "checkpoint verifies (key file)" 0 '"size": 1000' -- "$TLOG" checkpoint --log "$T/a" --key "$T/a/verifier-key" --json
expect "checkpoint --out saves the note" 0 "" -- "$TLOG" checkpoint "${A[@]}" --out "$T/cp-a"
cmp -s "$T/cp-a" "$T/a/checkpoint" && ok "saved checkpoint is the note" || nok "saved checkpoint is the note"
expect "inclusion by index" 0 "inclusion verified" -- "$TLOG" inclusion "${A[@]}" --index 999
expect "inclusion by index, first" 0 "index +0" -- "$TLOG" inclusion "${A[@]}" --index 0
expect "inclusion in an older size" 0 '"size": 300' -- "$TLOG" inclusion "${A[@]}" --index 299 --size 300 --json
expect "inclusion beyond the older size fails" 1 "not in the tree of size 300" -- "$TLOG" inclusion "${A[@]}" --index 300 --size 300
"$TLOG" entries "${A[@]}" --start 517 --count 1 | cut -d' ' -f2- >"$T/e517"
expect "inclusion by entry file" 0 "index +517" -- "$TLOG" inclusion "${A[@]}" --entry "$T/e517"
H=$("$TLOG" inclusion "${A[@]}" --index 700 --json | sed -n 's/.*"leaf_hash": "\([0-9a-f]*\)".*/\1/p')
expect "inclusion by leaf hash" 0 "index +700" -- "$TLOG" inclusion "${A[@]}" --hash "$H"
expect "inclusion by unknown hash fails" 1 "no entry with leaf hash" -- "$TLOG" inclusion "${A[@]}" --hash "$(printf '%064d' 7)"
expect "inclusion writes a tlog-proof" 0 "" -- "$TLOG" inclusion "${A[@]}" --index 5 --proof-out "$T/receipt"
head -1 "$T/receipt" | grep -q 'c2sp.org/tlog-proof@v1' && ok "receipt is a tlog-proof" || nok "receipt is a tlog-proof"
expect "consistency from an old checkpoint" 0 "consistency verified" -- "$TLOG" consistency "${A[@]}" --old "$T/a/v1/checkpoints/300"
expect "consistency from a receipt's checkpoint" 0 "consistency verified" -- "$TLOG" consistency "${A[@]}" --old "$T/receipt"
expect "consistency, same size" 0 "consistency verified" -- "$TLOG" consistency "${A[@]}" --old "$T/a/checkpoint"
n=$("$TLOG" entries "${A[@]}" | wc -l)
[ "$n" -eq 1000 ] && ok "entries prints all 1000" || nok "entries prints all 1000 (got $n)"
expect "entries --json decodes" 0 '"type":"credential_intake"' -- "$TLOG" entries "${A[@]}" --start 1 --count 1 --json
n=$("$TLOG" entries "${A[@]}" --start 250 --count 20 --json | grep -c '"index"')
[ "$n" -eq 20 ] && ok "entries --start/--count across bundles" || nok "entries --start/--count (got $n)"

# --- usage and I/O: exit 2 ---
for c in checkpoint inclusion consistency entries; do
  expect "$c --help" 0 "usage: tlog $c" -- "$TLOG" $c --help
done
expect "missing --key is a usage error" 2 "usage" -- "$TLOG" checkpoint --log "$T/a"
expect "no such directory" 2 "not a directory" -- "$TLOG" checkpoint --log "$T/none" --key "$KEY"
expect "bad key string" 2 "verifier key" -- "$TLOG" checkpoint --log "$T/a" --key "a+b+c"
expect "unreachable URL" 2 "GET http://127.0.0.1:1/checkpoint" -- "$TLOG" checkpoint --log http://127.0.0.1:1 --key "$KEY"
cp -r "$T/a" "$T/missing" && rm "$T/missing/tile/0/001"
expect "missing tile is an I/O error" 2 "tile/0/001" -- "$TLOG" inclusion --log "$T/missing" --key "$KEY" --index 300

# --- tampering: exit 1 naming it ---
cp -r "$T/a" "$T/sig"
sed -i "s/^\(— [^ ]* \)A/\1B/; t; s/^\(— [^ ]* \)./\1A/" "$T/sig/checkpoint"
expect "bad signature" 1 "checkpoint does not verify" -- "$TLOG" checkpoint --log "$T/sig" --key "$KEY"
$MKLOG --dir "$T/other" --count 10 --seed "$(printf '%064d' 5)" >/dev/null
expect "checkpoint signed by another key" 1 "does not verify" -- "$TLOG" checkpoint --log "$T/other" --key "$KEY"
cp -r "$T/a" "$T/tamper"
printf 'X' | dd of="$T/tamper/tile/entries/001" bs=1 seek=40 conv=notrunc status=none
expect "tampered entry" 1 "entry 256 in tile/entries/001 does not match its signed leaf hash" -- "$TLOG" entries --log "$T/tamper" --key "$KEY"
cp -r "$T/a" "$T/forged"
printf 'X' | dd of="$T/forged/tile/0/001" bs=1 seek=100 conv=notrunc status=none
expect "forged level-0 tile" 1 "tile/0/001 does not match the signed tree" -- "$TLOG" inclusion --log "$T/forged" --key "$KEY" --index 300
cp -r "$T/a" "$T/edge"
printf 'X' | dd of="$T/edge/tile/0/003.p/232" bs=1 seek=0 conv=notrunc status=none
expect "forged right-edge tile" 1 "right-edge tiles .* do not hash to its signed root" -- "$TLOG" inclusion --log "$T/edge" --key "$KEY" --index 999
$MKLOG --dir "$T/small" --count 500 >/dev/null
expect "rollback (old checkpoint larger)" 1 "rollback: the log's checkpoint has size 500, smaller than the old checkpoint's 1000" -- "$TLOG" consistency --log "$T/small" --key "$KEY" --old "$T/a/checkpoint"
$MKLOG --dir "$T/fork" --count 1000 --variant 1 >/dev/null
expect "fork: one key, two trees" 1 "fork: the log's tree of size 1000 does not contain the old tree of size 300" -- "$TLOG" consistency --log "$T/fork" --key "$KEY" --old "$T/a/v1/checkpoints/300"
expect "fork at equal size" 1 "fork: .*both have size 1000" -- "$TLOG" consistency --log "$T/fork" --key "$KEY" --old "$T/a/checkpoint"
expect "fork: inclusion of the other tree's entry fails" 1 "no entry with leaf hash" -- "$TLOG" inclusion --log "$T/fork" --key "$KEY" --hash "$H"
expect "failure in --json" 1 '"verified": false' -- "$TLOG" consistency --log "$T/small" --key "$KEY" --old "$T/a/checkpoint" --json

# --- export / verify-bundle ---
expect "export a bundle" 0 "exported 1000 entries" -- "$TLOG" export "${A[@]}" --to "$T/bundle" --quiet
expect "verify-bundle" 0 "bundle verified" -- "$TLOG" verify-bundle "$T/bundle" --key "$KEY"
expect "bundle is a log source" 0 "inclusion verified" -- "$TLOG" inclusion --log "$T/bundle" --key "$KEY" --index 640
expect "export refuses an existing bundle" 2 "already holds a bundle" -- "$TLOG" export "${A[@]}" --to "$T/bundle"
expect "export an older size" 0 "exported 700 entries" -- "$TLOG" export "${A[@]}" --to "$T/b700" --size 700
expect "verify-bundle of size 700" 0 '"entries_recomputed": 700' -- "$TLOG" verify-bundle "$T/b700" --key "$KEY" --json
cp -r "$T/bundle" "$T/bt"
printf 'X' | dd of="$T/bt/tile/entries/002" bs=1 seek=50 conv=notrunc status=none
expect "bundle: tampered entry" 1 "entry 512 does not match its leaf hash in tile/0/002" -- "$TLOG" verify-bundle "$T/bt" --key "$KEY"
expect "bundle: manifest catches the change" 1 "manifest: tile/entries/002 has SHA-256" -- "$TLOG" verify-bundle "$T/bt" --key "$KEY"
cp -r "$T/bundle" "$T/bm" && rm "$T/bm/tile/0/001"
expect "bundle: missing file" 1 "manifest: tile/0/001 is missing" -- "$TLOG" verify-bundle "$T/bm" --key "$KEY"
expect "verify-bundle with another key" 1 "checkpoint does not verify" -- "$TLOG" verify-bundle "$T/bundle" --key "$T/other/verifier-key"
for c in export verify-bundle; do
  expect "$c --help" 0 "usage: tlog $c" -- "$TLOG" $c --help
done

# DESIGN.md section 3: a forged level-0 tile in a 70,000-entry log must be rejected
# (several subtree hashes of the tree fall in one tile at this size).
$MKLOG --dir "$T/big" --count 70000 >/dev/null
BK=$(cat "$T/big/verifier-key")
expect "70,000 entries: inclusion" 0 "inclusion verified" -- "$TLOG" inclusion --log "$T/big" --key "$BK" --index 65600
printf 'X' | dd of="$T/big/tile/0/256" bs=1 seek=3 conv=notrunc status=none
expect "70,000 entries: forged level-0 tile rejected" 1 "tile/0/256 does not match the signed tree" -- "$TLOG" inclusion --log "$T/big" --key "$BK" --index 65600

[ "$fails" -eq 0 ]
