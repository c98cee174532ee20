#!/bin/bash
# `lifeboat completion bash|zsh|fish` in the real shells (ctest cli_completion_shells):
#   completion_shells_test.sh LIFEBOAT
# bash: the script loads (complete -p) and its function, driven with COMP_WORDS/COMP_CWORD,
# offers the right subcommands, flags and flag values at several levels. zsh and fish (when
# installed): the scripts parse, and their completion logic is driven (zsh with stubs for the
# completion-system builtins and, on a pseudo-terminal (zpty), by pressing TAB in an interactive
# zsh with compinit; fish with `complete -C`).
set -u
LIFEBOAT="$1"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
ln -s "$(readlink -f "$LIFEBOAT")" "$DIR/lifeboat"
export PATH="$DIR:$PATH"
failures=0

check() {  # check NAME GOT WANT
  if [[ "$2" == "$3" ]]; then
    echo "ok   $1"
  else
    echo "FAIL $1"
    echo "     got:  [$2]"
    echo "     want: [$3]"
    failures=$((failures + 1))
  fi
}

# ---- bash
got="$(bash -c 'source <(lifeboat completion bash) && complete -p lifeboat' 2>&1)"
check "bash: complete -p" "$got" "complete -o default -F _lifeboat lifeboat"

cat > "$DIR/drive.bash" <<'DRIVE'
source <(lifeboat completion bash)
drive() {
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
  COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  _lifeboat
  echo "${COMPREPLY[*]}"
}
"$@"
DRIVE
b() { bash "$DIR/drive.bash" drive "$@"; }
check "bash: lifeboat back" "$(b lifeboat back)" "backup backup-location"
check "bash: lifeboat snap" "$(b lifeboat snap)" "snapshot-location"
check "bash: lifeboat client config" "$(b lifeboat client config '')" "get set"
check "bash: backup-location subcommands" "$(b lifeboat backup-location '')" "create get set delete"
check "bash: backup-location create --acc" "$(b lifeboat backup-location create b1 --acc)" "--access-mode"
check "bash: --access-mode values" "$(b lifeboat backup-location create b1 --access-mode '')" "ReadWrite ReadOnly"
check "bash: -o values after a flag value" \
  "$(b lifeboat backup get -n velero -o '')" "table json yaml"
check "bash: --output=j" "$(b lifeboat backup get --output = j)" "json"
check "bash: completion shells" "$(b lifeboat completion '')" "bash zsh fish"
check "bash: flag value is not a subcommand" "$(b lifeboat backup create --from-schedule get --wa)" "--wait"
check "bash: free value completes nothing (files by -o default)" \
  "$(b lifeboat backup-location create b1 --cacert '')" ""

# ---- zsh
if command -v zsh >/dev/null; then
  lifeboat completion zsh > "$DIR/lifeboat.zsh"
  if zsh -n "$DIR/lifeboat.zsh"; then echo "ok   zsh: syntax"; else echo "FAIL zsh: syntax"; failures=$((failures + 1)); fi
  cat > "$DIR/drive.zsh" <<'DRIVE'
compdef() { :; }
_describe() { print -r -- "${(j: :)${(@)${(P)4}%%:*}}"; }
compadd() { [[ "$1" == "--" ]] && shift; print -r -- "$*"; }
_files() { print -r -- "<files>"; }
source "$DIR/lifeboat.zsh"
words=("$@"); CURRENT=$#words
_lifeboat
DRIVE
  z() { DIR="$DIR" zsh -f "$DIR/drive.zsh" "$@"; }
  # _describe gets every candidate of the level; zsh itself keeps those matching "back".
  got="$(z lifeboat back)"
  [[ " $got " == *" backup "* && " $got " == *" backup-location "* && " $got " != *" create "* ]]
  check "zsh: lifeboat back offers the top-level commands" "$?" "0"
  check "zsh: backup-location" "$(z lifeboat backup-location '')" "create get set delete"
  check "zsh: -o values" "$(z lifeboat snapshot-location get -o '')" "table json yaml"
  check "zsh: completion shells" "$(z lifeboat completion '')" "bash zsh fish"
  check "zsh: positional falls back to files" "$(z lifeboat backup describe '')" "<files>"
  got="$(z lifeboat backup-location create x --)"
  [[ " $got " == *" --provider "* && " $got " == *" --bucket "* ]]
  check "zsh: create flags include --provider and --bucket" "$?" "0"
  # The real completion system in an interactive zsh on a pseudo-terminal (zpty): TAB after
  # "backup-loc" and "--acc" completes the words.
  cat > "$DIR/pty.zsh" <<'DRIVE'
zmodload zsh/zpty
zpty z 'PS1="> " TERM=dumb zsh -f -i'
zpty -w z "autoload -U compinit; compinit -u -d $DIR/zcompdump; source $DIR/lifeboat.zsh"
zpty -w -n z $'lifeboat backup-loc\t'
zpty -w -n z $'create x --acc\t'
all="" deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  zpty -r -t z chunk && all+=$chunk
  [[ "$all" == *"lifeboat backup-location"*"create x --access-mode "* ]] && break
  sleep 0.2
done
zpty -d z
[[ "$all" == *"lifeboat backup-location"*"create x --access-mode "* ]] && print completed
DRIVE
  check "zsh: TAB in an interactive zsh" "$(DIR="$DIR" zsh -f "$DIR/pty.zsh" 2>&1 | tail -1)" "completed"
else
  echo "skip zsh: not installed (apt-get install zsh)"
fi

# ---- fish
if command -v fish >/dev/null; then
  lifeboat completion fish > "$DIR/lifeboat.fish"
  if fish -n "$DIR/lifeboat.fish"; then echo "ok   fish: syntax"; else echo "FAIL fish: syntax"; failures=$((failures + 1)); fi
  f() { fish --no-config -c "source '$DIR/lifeboat.fish'; complete -C '$1'" | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//'; }
  check "fish: lifeboat back" "$(f 'lifeboat back')" "backup backup-location"
  check "fish: backup-location" "$(f 'lifeboat backup-location ')" "create delete get set"
  check "fish: --access-mode values" "$(f 'lifeboat backup-location create b1 --access-mode ')" "ReadOnly ReadWrite"
  check "fish: client config" "$(f 'lifeboat client config ')" "get set"
else
  echo "skip fish: not installed (apt-get install fish)"
fi

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all completion checks passed"
