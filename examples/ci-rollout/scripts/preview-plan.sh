#!/usr/bin/env bash
# Pull request step: `pulumi preview --diff --save-plan` of the fleet. The plan file is what the
# main branch applies once the pull request is merged (scripts/apply-plan.sh), so a reviewer
# approves exactly the operations in it. Writes the preview to the job's summary page. Exits
# non-zero, with no plan, when the preview fails (e.g. the provider refuses a version or package).
#
# Environment:
#   STACK      the stack to preview, e.g. "prod" or "acme/prod"
#   PLAN_FILE  where to save the plan, e.g. "emqx-rollout.plan.json" (relative to the current directory)
#   plus the backend's: PULUMI_ACCESS_TOKEN, or PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env STACK 'the Pulumi stack to preview, e.g. STACK=prod (the workflow sets it from the PULUMI_STACK variable)'
require_env PLAN_FILE 'where to save the plan, e.g. PLAN_FILE=emqx-rollout.plan.json'
plan_file="$(absolute "$PLAN_FILE")"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
rm -f "$plan_file"

cd "$project"
# Never --show-secrets: it would write the stack's secrets (the SSH key) into the plan in clear.
args=(preview --stack "$STACK" --diff --save-plan "$plan_file" --non-interactive --color never)
echo "$me: pulumi ${args[*]}" >&2
set +e
pulumi "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

if [ "$status" -ne 0 ]; then
  {
    echo "### EMQX rollout: the preview of stack \`$STACK\` failed, no plan was saved"
    echo
    echo '```'
    grep -E '^[[:space:]]*error:' "$log" | head -n 40 || true
    echo '```'
    echo
    echo "<details><summary>last lines of <code>pulumi preview</code></summary>"
    echo
    echo '```'
    tail -n 60 "$log"
    echo '```'
    echo "</details>"
  } | step_summary
  die "pulumi preview failed (exit $status): fix what its errors above say and push again; no plan was saved"
fi
if [ ! -s "$plan_file" ]; then
  die "pulumi preview succeeded but wrote no plan to $plan_file: is this pulumi CLI too old for --save-plan?"
fi

{
  echo "### EMQX rollout plan for stack \`$STACK\`"
  echo
  echo "Merging this pull request runs \`pulumi up --plan\` with exactly this plan; if the fleet or its state changes first, that run fails and changes nothing (rerun this preview)."
  echo
  echo '```'
  # The change counts, from "Resources:" to the end of the preview's own summary.
  sed -n '/^Resources:/,/^$/p' "$log"
  echo '```'
  echo
  echo "<details><summary><code>pulumi preview --diff</code></summary>"
  echo
  echo '```diff'
  head_lines "$log" 1000
  echo '```'
  echo "</details>"
} | step_summary
echo "$me: plan saved to $plan_file ($(wc -c <"$plan_file") bytes)" >&2
