# Shell functions that read the shipped programs' --help texts (sourced, not run).
# shellcheck shell=bash
# The man pages (deploy/gen-man.sh), tlog's bash completion (deploy/gen-completion.sh)
# and the docs check (tests/docs.test.sh) all derive from these, so none of them keeps
# its own list of commands or flags that could drift from the programs.

# help_text PROG [ARGS...]: the help text of PROG [ARGS] --help on stdout.
# Fails when the program does not exit 0 or prints nothing.
help_text() {
  local out
  out=$("$@" --help 2>&1) || return 1
  [ -n "$out" ] || return 1
  printf '%s\n' "$out"
}

# help_opts: reads a help text on stdin, prints the long options it defines, sorted,
# once each. An option is defined where a help text states it: in the usage synopsis
# (from "usage:" to the first blank line), at the head of an indented option line (the
# text before the first run of two spaces: "  --help, --version   ..."), or in an
# "Other options: ..." sentence. Options merely mentioned in prose ("accept a --dev
# log", "for `consistency --old`") are not defined there.
help_opts() {
  awk '
    { gsub(/`[^`]*`/, ""); line = "" }
    /^usage:/ { syn = 1 }
    syn && /^$/ { syn = 0 }
    syn || other { line = $0 }
    !syn && !other && match($0, /Other options:/) { other = 1; line = substr($0, RSTART) }
    !syn && !other && /^[ \t]+--/ { line = $0; sub(/^[ \t]+/, "", line); sub(/  .*/, "", line) }
    other && /\.$/ { other = 0 }
    { while (match(line, /--[a-z][a-z0-9-]*/)) {
        print substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH) } }
  ' | sort -u
}

# tlog_cmds TLOG: tlog's command names, from the "commands:" list of `tlog --help`.
tlog_cmds() {
  help_text "$1" | awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
    on && /^  [a-z][a-z-]* / { print $1 }'
}

# tlog_actions TLOG CMD: the actions of a command whose help lists them as lines
# "  ACTION   --opt ..." (tlog anchor); nothing for other commands.
tlog_actions() {
  help_text "$1" "$2" | awk '/^  [a-z][a-z-]* +--/ { print $1 }'
}

# tlog_action_opts TLOG CMD ACTION: the options of one action: those on its own line
# plus those the help defines for every action ("Other options: ...").
tlog_action_opts() {
  local text
  text=$(help_text "$1" "$2") || return 1
  { printf '%s\n' "$text" | awk -v a="$3" '$1 == a && /^  [a-z][a-z-]* +--/' \
      | grep -oE -- '--[a-z][a-z0-9-]*'
    printf '%s\n' "$text" | help_opts; } | sort -u
}
