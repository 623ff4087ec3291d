#!/usr/bin/env bash
# Every `tlog ...`, `logd ...` and `collector ...` command line in docs/*.md (in fenced
# code blocks and in inline code spans) names a real command (and, for tlog anchor, a
# real action) and uses only flags that program's --help defines for it, as
# deploy/help-lib.sh reads them. Also checks the checker: a document with a wrong
# flag, an unknown command and an action's foreign flag must be refused.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init --no-anvil docs
# shellcheck source=deploy/help-lib.sh
. "$root/deploy/help-lib.sh"
tlog=$root/$BIN/tlog
for p in tlog logd collector; do
  [ -x "$root/$BIN/$p" ] || { nok "$BIN/$p missing (make all first)"; exit 1; }
done

# The table of what exists: "PROG [CMD [ACTION]]: opt opt ..." (a line per command).
{
  echo "tlog: --help --version"
  for c in $(tlog_cmds "$tlog"); do
    actions=$(tlog_actions "$tlog" "$c")
    if [ -n "$actions" ]; then
      echo "tlog $c: --help"
      for a in $actions; do echo "tlog $c $a: $(tlog_action_opts "$tlog" "$c" "$a" | tr '\n' ' ')"; done
    else
      echo "tlog $c: --help $(help_text "$tlog" "$c" | help_opts | tr '\n' ' ')"
    fi
  done
  for p in logd collector; do echo "$p: --help --version $(help_text "$root/$BIN/$p" | help_opts | tr '\n' ' ')"; done
} >"$tmp/table"
[ "$(grep -c '^tlog ' "$tmp/table")" -ge 15 ] && ok "option table from the --help texts ($(wc -l <"$tmp/table") commands)" \
  || { nok "option table"; sed 's/^/#   /' "$tmp/table"; }

cat >"$tmp/check.py" <<'PY'
import re, sys
table = {}
for line in open(sys.argv[1]):
    key, _, opts = line.rstrip("\n").partition(":")
    table[tuple(key.split())] = set(opts.split())
progs = {k[0] for k in table}
subs = {}
for k in table:
    for i in range(1, len(k)):
        subs.setdefault(k[:i], set()).add(k[i])

start = re.compile(r"(?:^|[;|&(]\s*|\$\(\s*|^\$\s+)(?:\S*/)?(" + "|".join(sorted(progs)) + r")\s+(\S.*)$")
cut = re.compile(r"\s(?:\||;|&&|>|2>|#)\s|\)\s*$|\)\s")
flag = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")

def commands(text):
    """(line number, command text) of every program invocation in code."""
    out, block, buf, first = [], False, "", 0
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith("```"):
            block = not block
            continue
        if block:
            if not buf:
                first = n
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            out.append((first, buf + line))
            buf = ""
        else:
            for span in re.findall(r"`([^`]+)`", line):
                out.append((n, span))
    return out

def check(path):
    errors, count = [], 0
    for n, code in commands(open(path).read()):
        for m in start.finditer(code):
            prog, rest = m.group(1), m.group(2)
            c = cut.search(rest)
            if c:
                rest = rest[:c.start()]
            words = rest.split()
            key = (prog,)
            # descend into commands and actions while the table has them
            while words and key in subs and not words[0].startswith("-"):
                w = words[0].rstrip("),;:")   # prose and diagrams: "(tlog compose-hash),"
                if w.endswith(".") and w[:-1] in subs[key]:
                    w = w[:-1]
                if w not in subs[key]:
                    if re.search(r"[<A-Z]|^\.\.\.", w):   # a placeholder: <command>, CMD, ...
                        key = None
                    else:
                        errors.append(f"{path}:{n}: '{' '.join(key)} {w}': no such command")
                        key = None
                    break
                key, words = key + (w,), words[1:]
            if key is None:
                continue
            if key not in table:
                if words and all(not w.startswith("-") for w in words):
                    continue   # prose such as "tlog anchor <action>" or a bare name
                errors.append(f"{path}:{n}: '{' '.join(key)}' needs a command before its flags")
                continue
            count += 1
            for f in flag.findall(" ".join(words)):
                if f not in table[key]:
                    errors.append(f"{path}:{n}: '{' '.join(key)}' has no flag {f}")
    return errors, count

status = 0
for path in sys.argv[2:]:
    errors, count = check(path)
    print(f"{path} {count}")
    for e in errors:
        print("ERROR " + e)
    status |= bool(errors)
sys.exit(status)
PY

# ---- the checker refuses what it must
cat >"$tmp/bad.md" <<'EOF'
```sh
tlog audit --log LOG --key VKEY --bogus-flag
tlog frobnicate --log LOG
tlog anchor deploy --rpc RPC --private-key k --origin ORIGIN
logd --data d --listen 127.0.0.1:1 --origin o --dev --no-such-flag
x=$(tlog checkpoint --log LOG --key VKEY --old f)
tlog anchor address --key owner.key
tlog export --log LOG --key VKEY --to bundle
```
Inline: `tlog entries --log L --key K --begin 3`.
EOF
python3 "$tmp/check.py" "$tmp/table" "$tmp/bad.md" >"$tmp/bad.out" 2>&1
want="'tlog audit' has no flag --bogus-flag|'tlog frobnicate': no such command|'tlog anchor deploy' has no flag --origin|'logd' has no flag --no-such-flag|'tlog checkpoint' has no flag --old|'tlog entries' has no flag --begin"
n=$(grep -cE "$want" "$tmp/bad.out")
[ "$n" -eq 6 ] && [ "$(grep -c '^ERROR' "$tmp/bad.out")" -eq 8 ] \
  && ok "the checker names each of 6 wrong commands or flags (blocks, continuations, \$(...), inline)" \
  || { nok "the checker on a bad document ($n of 6)"; sed 's/^/#   /' "$tmp/bad.out"; }
# A deprecated name (still accepted, with a warning) is in no --help's options: the
# docs must use the new one.
n=$(grep -cE "'tlog anchor address' has no flag --key|'tlog export' has no flag --to" "$tmp/bad.out")
[ "$n" -eq 2 ] && ok "the checker refuses the deprecated tlog anchor --key and tlog export --to" \
  || { nok "the checker on deprecated names ($n of 2)"; sed 's/^/#   /' "$tmp/bad.out"; }
printf '```sh\ntlog anchor register --rpc R --private-key k --contract 0xC --origin O --anchorer 0xA \\\n  --chain-id 8453\n```\n' >"$tmp/good.md"
python3 "$tmp/check.py" "$tmp/table" "$tmp/good.md" >"$tmp/good.out" 2>&1 \
  && grep -qx "$tmp/good.md 1" "$tmp/good.out" && ok "the checker accepts a correct command split over two lines" \
  || { nok "the checker on a good document"; sed 's/^/#   /' "$tmp/good.out"; }

# ---- the documents
for doc in "$root"/docs/*.md; do
  name=${doc#"$root"/}
  if python3 "$tmp/check.py" "$tmp/table" "$doc" >"$tmp/doc.out" 2>&1; then
    ok "$name: every command and flag exists ($(awk '{print $2}' "$tmp/doc.out" | head -n 1) command lines)"
  else
    nok "$name: commands or flags that do not exist"; grep '^ERROR' "$tmp/doc.out" | sed 's/^/#   /'
  fi
done
# the runbook and the audit guide must actually contain commands to check
for want in "docs/OPERATE.md 15" "docs/AUDIT.md 10"; do
  set -- $want
  python3 "$tmp/check.py" "$tmp/table" "$root/$1" 2>/dev/null | head -n 1 >"$tmp/count"
  got=$(awk '{print $2}' "$tmp/count")
  [ "${got:-0}" -ge "$2" ] && ok "$1 has $got checked command lines (at least $2)" \
    || nok "$1 has ${got:-0} checked command lines (want at least $2)"
done

[ $fails -eq 0 ]
