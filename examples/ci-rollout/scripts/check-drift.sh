#!/usr/bin/env bash
# Scheduled step: are the nodes still what the stack's state says? `pulumi refresh --preview-only
# --expect-no-changes` reads every node (`emqx versions` over SSH, nothing is changed on a node
# nor in the state) and fails when one differs, e.g. someone upgraded, downgraded or restarted a
# node by hand. The differences go to the job's summary page.
#
# Environment:
#   STACK  the stack to check, e.g. "prod" or "acme/prod"
#   plus the backend's: PULUMI_ACCESS_TOKEN, or PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env STACK 'the Pulumi stack to check, e.g. STACK=prod (the workflow sets it from the PULUMI_STACK variable)'
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cd "$project"
# --preview-only refuses --yes, which PULUMI_SKIP_CONFIRMATIONS=true implies; nothing here asks.
unset PULUMI_SKIP_CONFIRMATIONS
args=(refresh --stack "$STACK" --preview-only --expect-no-changes --diff --non-interactive --color never)
echo "$me: pulumi ${args[*]}" >&2
set +e
pulumi "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

if [ "$status" -eq 0 ]; then
  echo "### EMQX fleet of stack \`$STACK\`: no drift" | step_summary
  echo "$me: every node is as the stack's state says" >&2
  exit 0
fi
if grep -q 'no changes were expected' "$log"; then
  reason="a node differs from the stack's state (changed by hand?): the lines marked ~ above say which and how; put it back through a pull request (pulumi up restores the declared version), or accept it with pulumi refresh"
else
  reason="the refresh itself failed (a node or the backend could not be reached): see the errors above"
fi
{
  echo "### EMQX fleet of stack \`$STACK\`: drift check failed"
  echo
  echo "$reason"
  echo
  echo '```diff'
  head_lines "$log" 400
  echo '```'
} | step_summary
die "pulumi refresh --preview-only --expect-no-changes failed (exit $status): $reason"
