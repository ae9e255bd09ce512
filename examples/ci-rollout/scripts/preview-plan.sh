#!/usr/bin/env bash
# Pull request step: `pulumi preview --save-plan --json` of the fleet. The plan file is what the
# main branch applies once the pull request is merged (scripts/apply-plan.sh), so a reviewer
# approves exactly the operations in it. The preview's JSON is rendered as a Markdown table (host,
# cluster, batch, from -> to, refusals) by `pulumi-emqx-release plan-summary` for the job's summary
# page and log. Exits non-zero, with no plan, when the preview fails (e.g. the provider refuses a
# version or package): the table then shows the refusals.
#
# Environment:
#   STACK      the stack to preview, e.g. "prod" or "acme/prod"
#   PLAN_FILE  where to save the plan, e.g. "emqx-rollout.plan.json" (relative to the current
#              directory); the preview's JSON goes beside it as <name>.preview.json
#   plus the backend's: PULUMI_ACCESS_TOKEN, or PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env STACK 'the Pulumi stack to preview, e.g. STACK=prod (the workflow sets it from the PULUMI_STACK variable)'
require_env PLAN_FILE 'where to save the plan, e.g. PLAN_FILE=emqx-rollout.plan.json'
plan_file="$(absolute "$PLAN_FILE")"
preview_json="${plan_file%.json}.preview.json"
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT
rm -f "$plan_file" "$preview_json"

cd "$project"
# Never --show-secrets: it would write the stack's secrets (the SSH key) into the plan in clear.
args=(preview --stack "$STACK" --save-plan "$plan_file" --json --non-interactive)
echo "$me: pulumi ${args[*]}" >&2
set +e
pulumi "${args[@]}" >"$preview_json" 2>"$errors"
status=$?
set -e
cat "$errors" >&2

# The table, from the library the project installed (npx --no: never download one).
title="EMQX rollout plan for stack \`$STACK\`"
if [ "$status" -ne 0 ]; then title="EMQX rollout: the preview of stack \`$STACK\` failed, no plan was saved"; fi
if ! table="$(npx --no pulumi-emqx-release plan-summary --title "$title" <"$preview_json")"; then
  table="### $title"$'\n\n''(`pulumi preview --json` printed no preview to summarise: see the errors below.)'
fi
printf '%s\n' "$table"

if [ "$status" -ne 0 ]; then
  rm -f "$plan_file"
  {
    printf '%s\n' "$table"
    if [ -s "$errors" ]; then
      printf '\n```\n'
      head_lines "$errors" 60
      echo '```'
    fi
  } | step_summary
  die "pulumi preview failed (exit $status): fix what the refusals above say and push again; no plan was saved"
fi
if [ ! -s "$plan_file" ]; then
  die "pulumi preview succeeded but wrote no plan to $plan_file: is this pulumi CLI too old for --save-plan?"
fi

{
  printf '%s\n\n' "$table"
  echo "Merging this pull request runs \`pulumi up --plan\` with exactly this plan; if the fleet or its state changes first, that run fails and changes nothing (rerun this preview)."
} | step_summary
echo "$me: plan saved to $plan_file ($(wc -c <"$plan_file") bytes), the preview to $preview_json" >&2
