#!/usr/bin/env bash
# `make install` into a temporary DESTDIR: exactly the shipped programs (logd,
# collector, tlog), a man page per program and per tlog command that `man -l` renders
# with the program's own help text, and tlog's bash completion; no test tool; PREFIX
# and DESTDIR honoured; `make uninstall` removes it all. Also the build's output: one
# line per target, the commands with V=1.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init --no-anvil install
show() { sed 's/^/#   /' "$1" | head -n "${2:-20}"; }

# The build flavour whose programs the suite runs (make sanitize runs it with bin/san).
case $BIN in
  bin) flavour=() ;;
  bin/san) flavour=(SAN=1) ;;
  *) echo "not ok - install test: unknown BIN '$BIN'"; exit 1 ;;
esac
mk() { make -C "$root" --no-print-directory "${flavour[@]}" "$@"; }
tlog=$root/$BIN/tlog
shipped="collector logd tlog"
# tlog's commands, read here with a plain awk (not deploy/help-lib.sh, which generated
# the pages under test).
cmds=$("$tlog" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
[ "$(echo "$cmds" | wc -l)" -ge 10 ] && ok "tlog --help lists its commands ($(echo $cmds))" \
  || nok "tlog --help lists its commands ($cmds)"

# ---- install: exactly the expected files
d=$tmp/dest
if mk install DESTDIR="$d" >"$tmp/out" 2>&1; then ok "make install DESTDIR=... exits 0"
else nok "make install DESTDIR=... exits 0"; show "$tmp/out"; fi
{
  for p in $shipped; do echo "usr/local/bin/$p"; echo "usr/local/share/man/man1/$p.1"; done
  for c in $cmds; do echo "usr/local/share/man/man1/tlog-$c.1"; done
  echo usr/local/share/bash-completion/completions/tlog
} | sort >"$tmp/want"
(cd "$d" 2>/dev/null && find . -mindepth 1 ! -type d | sed 's|^\./||' | sort) >"$tmp/have"
if cmp -s "$tmp/want" "$tmp/have"; then ok "installed files are exactly the expected $(wc -l <"$tmp/want")"
else nok "installed files are exactly the expected ones"; diff "$tmp/want" "$tmp/have" | sed 's/^/#   /'; fi

bad=''
for f in "$root/$BIN"/*; do
  n=$(basename "$f")
  case " $shipped " in *" $n "*) continue ;; esac
  [ -z "$(find "$d" -name "$n*")" ] || bad+=" $n"
done
[ -z "$bad" ] && ok "no test tool or test program installed (none of the other $(($(ls "$root/$BIN" | wc -l) - 3)) in $BIN/)" \
  || nok "test tools installed:$bad"

bad=''
for p in $shipped; do
  f=$d/usr/local/bin/$p
  [ "$(stat -c %a "$f" 2>/dev/null)" = 755 ] && cmp -s "$f" "$root/$BIN/$p" || bad+=" $p"
done
[ -z "$bad" ] && ok "installed programs are the built ones, mode 0755" || nok "installed programs differ or mode:$bad"

# ---- man pages: render without warnings, carry the help text
check_page() { # page prog args...: the page renders and holds every line of the help
  local page=$1; shift
  if ! MANWIDTH=200 man --warnings -P cat -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err" || [ -s "$tmp/man.err" ]; then
    echo "man -l $page failed:"; cat "$tmp/man.err"; return 1
  fi
  grep -q '^NAME' "$tmp/man.txt" && grep -q '^SYNOPSIS' "$tmp/man.txt" || { echo "no NAME/SYNOPSIS"; return 1; }
  sed 's/^[[:space:]]*//' "$tmp/man.txt" >"$tmp/man.trim"
  "$@" --help | sed -e '1s/^usage: //' -e 's/^[[:space:]]*//' | grep . | while IFS= read -r line; do
    grep -qxF -- "$line" "$tmp/man.trim" || { echo "missing line: $line"; exit 1; }
  done
}
man1=$d/usr/local/share/man/man1
nbad=0 npages=0
for p in $shipped; do
  npages=$((npages + 1))
  check_page "$man1/$p.1" "$root/$BIN/$p" >"$tmp/page" 2>&1 || { nbad=$((nbad + 1)); echo "# $p.1:"; show "$tmp/page" 5; }
done
for c in $cmds; do
  npages=$((npages + 1))
  check_page "$man1/tlog-$c.1" "$tlog" "$c" >"$tmp/page" 2>&1 || { nbad=$((nbad + 1)); echo "# tlog-$c.1:"; show "$tmp/page" 5; }
done
[ $nbad -eq 0 ] && ok "man -l renders all $npages pages without warnings, each with every line of its --help" \
  || nok "man pages: $nbad of $npages bad"
grep -q '^tlog-audit - audit a time window' <(MANWIDTH=200 man -P cat -l "$man1/tlog-audit.1" 2>/dev/null | sed 's/^ *//; s/  */ /g') \
  && ok "tlog-audit(1) NAME line from tlog --help's command list" || nok "tlog-audit(1) NAME line"

# ---- bash completion
comp=$d/usr/local/share/bash-completion/completions/tlog
complete_words() { # words...: what the installed completion offers for the last word
  bash --norc --noprofile -c '
    source "$1"; shift
    spec=$(complete -p tlog) || exit 1
    fn=$(printf "%s\n" "$spec" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    "$fn" tlog "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@" | grep . | tr '\n' ' ' | sed 's/ $//'
}
spec=$(bash --norc --noprofile -c 'source "$1" && complete -p tlog' _ "$comp" 2>&1)
[[ $spec == *"-F "*" tlog" ]] && ok "completion registers a function for tlog ($spec)" || nok "complete -p tlog: $spec"
expect() { # want words...
  local want=$1; shift
  local got; got=$(complete_words "$@")
  [ "$got" = "$want" ] && ok "completion: '$*' -> '$want'" || nok "completion: '$*' -> '$got', want '$want'"
}
expect checkpoint tlog ch
expect "compose-hash compose-normalize" tlog compose-
expect register tlog anchor reg
expect "--anchorer" tlog anchor register --rpc URL --an
expect "" tlog anchor deploy --an
expect "--allow-dev --allow-simulated" tlog audit --log x --allow-
expect "--max-anchor-age" tlog monitor --m
# every command completes from its full name
bad=''
for c in $cmds; do
  [ "$(complete_words tlog "$c")" = "$c" ] || bad+=" $c"
done
[ -z "$bad" ] && ok "every command of tlog --help completes" || nok "commands not completed:$bad"
got=$(complete_words tlog verify-quote --)
want=$("$tlog" verify-quote --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] && ok "tlog verify-quote -- offers exactly its --help's options" \
  || nok "verify-quote options: '$got' want '$want'"

# ---- PREFIX honoured, uninstall
if mk install DESTDIR="$tmp/d2" PREFIX=/opt/xt >"$tmp/out" 2>&1 && [ -x "$tmp/d2/opt/xt/bin/tlog" ] \
   && [ -f "$tmp/d2/opt/xt/share/man/man1/tlog-audit.1" ] && [ ! -e "$tmp/d2/usr" ]; then
  ok "PREFIX=/opt/xt installs under DESTDIR/opt/xt only"
else nok "PREFIX=/opt/xt"; show "$tmp/out"; fi
mk uninstall DESTDIR="$d" >"$tmp/out" 2>&1
left=$(find "$d" ! -type d)
[ -z "$left" ] && ok "make uninstall removes every installed file" || nok "left after uninstall: $left"

# ---- build output: one line per target; V=1 shows the commands
b=$tmp/build
if mk OUT="$b/out" BIN="$b/bin" "$b/bin/bench-merkle" >"$tmp/quiet" 2>&1 \
   && ! grep -vE "^(CC|AR|LD) [^ ]+$" "$tmp/quiet" >/dev/null \
   && grep -qx "CC merkle/sha256.c" "$tmp/quiet" && grep -qx "AR $b/out/libmerkle.a" "$tmp/quiet" \
   && grep -qx "LD $b/bin/bench-merkle" "$tmp/quiet"; then
  ok "make prints one line per target (CC x.c / AR lib / LD prog), nothing else"
else nok "make's quiet output"; show "$tmp/quiet"; fi
if mk V=1 OUT="$b/out" BIN="$b/bin" -W bench/bench_merkle.c "$b/bin/bench-merkle" >"$tmp/verbose" 2>&1 \
   && grep -qE -- '-c -o [^ ]*bench_merkle\.o bench/bench_merkle\.c$' "$tmp/verbose" \
   && ! grep -qE '^(CC|LD) ' "$tmp/verbose"; then
  ok "make V=1 prints the commands instead"
else nok "make V=1"; show "$tmp/verbose"; fi

[ $fails -eq 0 ]
