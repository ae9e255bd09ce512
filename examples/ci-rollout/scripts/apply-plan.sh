#!/usr/bin/env bash
# Main branch step: `pulumi up --plan` of the plan the merged pull request's preview saved
# (scripts/preview-plan.sh), then the fleet's `summary` output. The engine refuses any operation
# the plan does not contain; a plan that no longer matches the program, its config or the stack's
# state fails this run (see README.md "When the plan no longer matches").
#
# No --skip-preview: the preview that `pulumi up` runs first is checked against the plan too, so a
# stale plan fails there, before the update has touched a node.
#
# Environment:
#   STACK      the stack to update, the one the plan was saved for
#   PLAN_FILE  the downloaded plan, e.g. "emqx-rollout.plan.json" (relative to the current directory)
#   plus the backend's: PULUMI_ACCESS_TOKEN, or PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env STACK 'the Pulumi stack to update, e.g. STACK=prod (the workflow sets it from the PULUMI_STACK variable)'
require_env PLAN_FILE 'the plan saved by the pull request'\''s preview, e.g. PLAN_FILE=emqx-rollout.plan.json'
plan_file="$(absolute "$PLAN_FILE")"
rerun='rerun the preview (README.md "When the plan no longer matches")'
if [ ! -e "$plan_file" ]; then
  die "no plan at $plan_file: download the artifact the pull request's preview uploaded (scripts/preview-plan.sh saves it), or $rerun"
fi
if [ ! -s "$plan_file" ]; then
  die "the plan $plan_file is empty: the artifact is damaged; $rerun"
fi
# Node's own parse error would quote the file; only say where it is.
if ! node -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.exit(p !== null && typeof p === "object" && !Array.isArray(p) ? 0 : 1)' "$plan_file" 2>/dev/null; then
  die "the plan $plan_file is not a JSON object as 'pulumi preview --save-plan' writes it: the artifact is damaged or not a plan; $rerun"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cd "$project"
args=(up --stack "$STACK" --plan "$plan_file" --yes --non-interactive --diff --color never)
echo "$me: pulumi ${args[*]}" >&2
set +e
pulumi "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

if [ "$status" -ne 0 ]; then
  if grep -q 'violates plan' "$log"; then
    reason="the plan no longer matches the program, its config or the stack's state (something changed after the pull request's preview): $rerun"
  else
    reason="see the errors above; a halted rollout resumes with the next run (README.md \"What a failed run leaves\")"
  fi
  {
    echo "### EMQX rollout of stack \`$STACK\` failed"
    echo
    echo "$reason"
    echo
    echo '```'
    grep -E '^[[:space:]]*error:' "$log" | head -n 40 || true
    echo '```'
  } | step_summary
  die "pulumi up --plan failed (exit $status): $reason"
fi

if summary="$(pulumi stack output summary --stack "$STACK" --json)"; then
  echo "fleet summary (stack $STACK):"
  printf '%s\n' "$summary"
  {
    echo "### EMQX rollout of stack \`$STACK\` done"
    echo
    echo '```json'
    printf '%s\n' "$summary"
    echo '```'
  } | step_summary
else
  echo "$me: the update succeeded but the stack has no 'summary' output to print (is the program the fleet of index.ts?)" >&2
fi
