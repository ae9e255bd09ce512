# Shared by the scripts the workflow's steps call; sourced, not run. Sets `project` (the Pulumi
# project directory, this script's parent) and `me` (the calling script's name, for messages).
# Nothing here prints an environment variable's value: PULUMI_CONFIG_PASSPHRASE, PULUMI_ACCESS_TOKEN
# and GH_TOKEN stay out of the job log.

me="$(basename "${BASH_SOURCE[1]}" .sh)"
project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# "preview-plan: <message>" on stderr, exit 1.
die() {
  echo "$me: $*" >&2
  exit 1
}

# require_env NAME HINT: fails with "NAME is not set: HINT" unless NAME is set and non-empty.
require_env() {
  if [ -z "${!1:-}" ]; then
    die "$1 is not set: $2"
  fi
}

# Appends stdin to the job's summary page ($GITHUB_STEP_SUMMARY, set by GitHub Actions); outside
# Actions it is dropped (the same text is in the log already).
step_summary() {
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat >>"$GITHUB_STEP_SUMMARY"
  else
    cat >/dev/null
  fi
}

# An absolute path for $1, relative to the directory the script was started in.
absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

# Prints at most $2 lines of file $1, then how many were left out.
head_lines() {
  local total
  total="$(wc -l <"$1")"
  head -n "$2" "$1"
  if [ "$total" -gt "$2" ]; then
    echo "... ($((total - $2)) more lines in the job log)"
  fi
}
