#!/usr/bin/env bash
# Written by portolan from portolan.yaml: change the spec and run `portolan render`, not this file. portolan-sha256:f5a587ce79ad25d0ae4163c8e6f0ad7d5a46032e06baa5147ab45aca54ceb2f1
# Starts the services of a and writes their env files with this workspace's origins.
# Run by the Coder agent at workspace start; outside Coder every origin is http://localhost:PORT.
#
#   PORTOLAN_HEALTH_TIMEOUT=SECONDS  overrides every healthcheck timeout
#   PORTOLAN_LOCK_TIMEOUT=SECONDS    how long a start waits for another start of this workspace
#                                    to finish its services and steps (default 600)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
# What this script writes is its user's alone, whatever the umask it was started with: folders
# 0700, files 0600. The processes it starts get the umask back.
user_umask=$(umask)
umask 077
state_dir=.portolan

log() { printf '[%s] %s\n' "a" "$*" >&2; }
lock_timeout=${PORTOLAN_LOCK_TIMEOUT:-600}
if [[ ! $lock_timeout =~ ^[0-9]+$ ]]; then
  log "error: PORTOLAN_LOCK_TIMEOUT is not a number of seconds: nothing is started"
  exit 1
fi
if [[ -n ${PORTOLAN_HEALTH_TIMEOUT:-} && ! $PORTOLAN_HEALTH_TIMEOUT =~ ^[0-9]+$ ]]; then
  log "error: PORTOLAN_HEALTH_TIMEOUT is not a number of seconds: nothing is started"
  exit 1
fi

# must_be folder|file PATH: PATH is missing, or a real folder / regular file, never a symbolic
# link (a repository may commit one): else the script stops before it writes anything.
must_be() {
  if [[ -L $2 ]]; then
    log "error: $2 is a symbolic link: nothing is written (remove it)"
    exit 1
  elif [[ -e $2 && $1 == folder && ! -d $2 ]] || [[ -e $2 && $1 == file && ! -f $2 ]]; then
    log "error: $2 is not a $1: nothing is written (remove it)"
    exit 1
  fi
}
must_be folder "$state_dir"
must_be folder "$state_dir/logs"
for state_file in .gitignore lock steps.lock secrets.env web.pid logs/web.log; do
  must_be file "$state_dir/$state_file"
done

# has_header FILE: whether one of FILE's first three lines is portolan's header (render's or
# this script's), as `portolan render` looks for it.
has_header() {
  local line
  for _ in 1 2 3; do
    IFS= read -r line || [[ -n $line ]] || return 1
    [[ $line == '#'*portolan-sha256:* ]] && return 0
  done <"$1"
  return 1
}

# check_managed PATH: PATH can be written by write_managed: relative to this folder and inside it,
# every folder on the way a real folder (or missing), PATH missing or a regular file that carries
# portolan's header, never a symbolic link; else it says why and fails.
check_managed() {
  local path=$1 dir=. part rest=$1
  while [[ $rest == */* ]]; do
    part=${rest%%/*}
    rest=${rest#*/}
    [[ -z $part || $part == . ]] && continue
    dir=$dir/$part
    if [[ $part == .. ]]; then
      log "error: $path leaves this folder: not written"
      return 1
    elif [[ -L $dir ]]; then
      log "error: ${dir#./} is a symbolic link, not a folder: $path is not written"
      return 1
    elif [[ -e $dir && ! -d $dir ]]; then
      log "error: ${dir#./} is not a folder: $path is not written"
      return 1
    fi
  done
  if [[ -L $path ]]; then
    log "error: $path is a symbolic link, not a regular file: not written (remove it to have it written)"
    return 1
  elif [[ -e $path && ! -f $path ]]; then
    log "error: $path is not a regular file: not written"
    return 1
  elif [[ -f $path ]] && ! has_header "$path"; then
    log "error: $path was not written by portolan (it has no portolan header): not overwritten (move it away, or name another env file)"
    return 1
  fi
}
check_managed .env || exit 1

mkdir -p "$state_dir/logs"
chmod 700 "$state_dir" "$state_dir/logs"
[[ -f $state_dir/.gitignore ]] || printf '*\n' >"$state_dir/.gitignore"

# --- Origins ---------------------------------------------------------------------------------
scheme=${PORTOLAN_SCHEME:-https}
domain=${PORTOLAN_WILDCARD_DOMAIN:-}
[[ -n $domain ]] || domain=""
if [[ -n ${CODER_WORKSPACE_NAME:-} && -n ${CODER_WORKSPACE_OWNER_NAME:-} && -n $domain ]]; then
  workspace=${CODER_WORKSPACE_NAME,,}
  owner=${CODER_WORKSPACE_OWNER_NAME,,}
  # origin SLUG: the public origin of a Coder subdomain app in this workspace.
  origin() {
    local label="$1--main--$workspace--$owner"
    if ((${#label} > 63)); then
      log "warning: host label $label is longer than 63 characters; Coder will use a hashed host instead"
    fi
    printf '%s://%s.%s' "$scheme" "$label" "$domain"
  }
  ORIGIN_WEB=$(origin web)
else
  log "not in a Coder workspace: origins are http://localhost:PORT"
  ORIGIN_WEB=http://localhost:8000
fi
export ORIGIN_WEB

# --- Secrets: generated once, kept in $state_dir/secrets.env --------------------------------
# Start scripts running at once take turns from here to the last env file, so that each secret is
# generated once and every file gets the same value.
if ! command -v flock >/dev/null; then
  log "error: flock (util-linux) is needed to keep secrets and env files consistent"
  exit 1
fi
exec 9>>"$state_dir/lock"
flock 9

# --- Env files ---------------------------------------------------------------------------------
# env_line KEY VALUE: KEY=VALUE as bash `source`, docker compose and python-dotenv all read it back:
# bare when VALUE is plain, else in single quotes, else in double quotes with `\` and `"` escaped.
# A value none of them carries alike stops the script (see `env_quote` in portolan's render/value.rs).
env_line() {
  local LC_ALL=C value=$2
  if [[ $value =~ ^[A-Za-z0-9_./:@%+,-]*$ ]]; then
    printf '%s=%s\n' "$1" "$value"
  elif [[ $value == *$'\r'* ]]; then
    log "error: $1 holds a carriage return, which python-dotenv and docker-compose 1 read as a line break"
    exit 1
  elif [[ $value == *\\ ]]; then
    log "error: $1 ends with \\, which python-dotenv reads as escaping the closing quote"
    exit 1
  elif [[ $value != *\'* && $value != *\\\\* && $value != *\$\{* ]]; then
    printf "%s='%s'\n" "$1" "$value"
  elif [[ $value != *[\$\`]* ]]; then
    value=${value//\\/\\\\}
    value=${value//\"/\\\"}
    printf '%s="%s"\n' "$1" "$value"
  else
    log "error: $1 has a \`'\` or \`\\\\\` and a \`\$\` or backtick: no quoting reads alike in bash, compose and python-dotenv"
    exit 1
  fi
}

# An assignment in an env file: `KEY=`, `export KEY=` (bash, compose and python-dotenv alike).
env_key_re='^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*='

# quote_closes QUOTE TEXT: whether TEXT holds the QUOTE that closes a value (in double quotes,
# `\\` and `\"` are escapes).
quote_closes() {
  local text=$2
  if [[ $1 == "'" ]]; then
    [[ $text == *\'* ]]
    return
  fi
  text=${text//\\\\/}
  text=${text//\\\"/}
  [[ $text == *\"* ]]
}

# read_entries: the lines of stdin into the array `entries`, an assignment whose quoted value
# spans several lines as one element, every other line as one.
read_entries() {
  local line value open=''
  entries=()
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ -n $open ]]; then
      entries[-1]+=$'\n'$line
      if quote_closes "$open" "$line"; then
        open=''
      fi
      continue
    fi
    entries+=("$line")
    if [[ $line =~ $env_key_re ]]; then
      value=${line#*=}
      value=${value#"${value%%[![:space:]]*}"}
      case $value in
        \'*) quote_closes "'" "${value:1}" || open="'" ;;
        \"*) quote_closes '"' "${value:1}" || open='"' ;;
      esac
    fi
  done
}

# write_managed PATH BODY: sets portolan's keys in the env file PATH and keeps every other line
# of it as it is (keys the user added, comments, blank lines, in their order). BODY is the note
# that names portolan's keys, then one KEY=value line each. A line of PATH that sets one of
# them (`KEY=`, `export KEY=`) is replaced by BODY's, in place (a second one is dropped); a key
# PATH lacks is added at the end; a key an earlier start set (its note names it) that BODY no
# longer has is dropped. PATH is replaced atomically, its mode kept (0600 when new), with
# portolan's header, whose hash covers BODY, so that `portolan render` knows the file is its own.
# PATH is written only where check_managed allows, or nothing is written and the script stops.
write_managed() {
  local path=$1 body=${2:+$2$'\n'} hash tmp dir=. part rest=$1 line key note='' n=0 legacy=0
  local -a keys=() lines=() out=() words=() entries=()
  local -A new=() old=() seen=()
  check_managed "$path" || return 1
  while [[ $rest == */* ]]; do
    part=${rest%%/*}
    rest=${rest#*/}
    [[ -z $part || $part == . ]] && continue
    dir=$dir/$part
    [[ -d $dir ]] || mkdir "$dir"
  done
  read_entries <<<"$2"
  for line in "${entries[@]}"; do
    if [[ $line == '#'* ]]; then
      note=$line
    elif [[ -n $line ]]; then
      key=${line%%=*}
      keys+=("$key")
      new[$key]=$line
    fi
  done
  if [[ -f $path ]]; then
    read_entries <"$path"
    lines=("${entries[@]}")
  fi
  for line in "${lines[@]}"; do
    if [[ $line == '# portolan sets: '* ]]; then
      line=${line#'# portolan sets: '}
      read -ra words <<<"${line%%.*}"
      for key in "${words[@]}"; do old[$key]=1; done
    elif [[ $line == '# Rewritten by '* ]]; then
      # Written before portolan kept other lines: every key in it was portolan's.
      legacy=1
    fi
  done
  for line in "${lines[@]}"; do
    n=$((n + 1))
    if [[ $line == '# portolan sets: '* || $line == '# Rewritten by '* ]]; then
      continue
    elif ((n <= 3)) && [[ $line == '#'*portolan-sha256:* ]]; then
      continue
    elif [[ $line =~ $env_key_re ]]; then
      key=${BASH_REMATCH[2]}
      if [[ -n ${new[$key]+set} ]]; then
        if [[ -z ${seen[$key]+set} ]]; then
          out+=("${new[$key]}")
          seen[$key]=1
        else
          log "note: $path set $key twice: the second line is dropped"
        fi
        continue
      elif [[ -n ${old[$key]+set} ]] || ((legacy)); then
        continue
      fi
    fi
    out+=("$line")
  done
  for key in "${keys[@]}"; do
    [[ -n ${seen[$key]+set} ]] || out+=("${new[$key]}")
  done
  hash=$(printf '%s' "$body" | sha256sum)
  hash=${hash%% *}
  tmp=$(mktemp "$path.XXXXXX")
  if [[ -f $path ]]; then
    chmod --reference="$path" "$tmp"
  else
    chmod 600 "$tmp"
  fi
  if ! {
    printf '# Written by %s at workspace start from %s. portolan-sha256:%s\n%s\n' \
      "start-workspace.sh" portolan.yaml "$hash" "$note"
    ((${#out[@]} == 0)) || printf '%s\n' "${out[@]}"
  } >"$tmp"; then
    rm -f "$tmp"
    log "error: cannot write $path"
    return 1
  fi
  mv -f "$tmp" "$path"
}

# Every file's lines are made before any is written: a value that cannot be written stops the
# script with no env file changed.
# .env: read by docker compose for ${...} in docker-compose.yml.
env_body=$(
  printf '%s\n' "# portolan sets: ORIGIN_WEB. Other lines are yours: start-workspace.sh keeps them at each workspace start."
  env_line ORIGIN_WEB "$ORIGIN_WEB"
  :
)
write_managed .env "$env_body"
exec 9>&-

# --- One start at a time from here to the last step ------------------------------------------
# Two starts at once (Coder's and one run by hand) would race to create the same containers, start
# the same processes and run the same once-tasks: a start that finds another one past this point
# waits for it, then finds what it did (services up, processes running, tasks marked done,
# secrets made). Nothing this script leaves running gets the lock's descriptor (each child is
# started with `8>&-`), so a long-running process never holds it.
exec 8>>"$state_dir/steps.lock"
if ! flock -n 8; then
  log "waiting for the other start of this workspace to finish (lock: $state_dir/steps.lock, up to ${lock_timeout}s)"
  if ! flock -w "$lock_timeout" 8; then
    log "error: another start still holds $state_dir/steps.lock after ${lock_timeout}s: nothing more is started (stop it, or set PORTOLAN_LOCK_TIMEOUT to wait longer)"
    exit 1
  fi
fi

# --- Processes ---------------------------------------------------------------------------------
# should_start NAME: false (and says so) when NAME already runs.
should_start() {
  local pid_file=$state_dir/$1.pid
  if [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    log "$1 is already running"
    return 1
  fi
  log "starting $1"
}
if should_start web; then
  (
    trap '' HUP
    umask "$user_umask"
    cd . || exit 1
    python3 -m http.server 8000
  ) >>"$state_dir/logs/web.log" 2>&1 8>&- &
  echo $! >"$state_dir/web.pid"
fi

# --- Healthchecks: any HTTP status below 500 counts, as in Coder ---------------------------
# wait_healthy SERVICE URL SECONDS
wait_healthy() {
  local service=$1 url=$2 limit=${PORTOLAN_HEALTH_TIMEOUT:-$3} code
  local deadline=$((SECONDS + limit))
  while :; do
    code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url" 2>/dev/null) || code=000
    if [[ $code =~ ^[0-9]+$ ]] && ((code > 0 && code < 500)); then
      log "$service is up: $url answered $code"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "$service did not answer $url within ${limit}s (last status: $code)"
      return 1
    fi
    sleep 1
  done
}
failed=()
if ((${#failed[@]} > 0)); then
  log "failed: ${failed[*]} (logs: $state_dir/logs/)"
  exit 1
fi
log "all services are up"
