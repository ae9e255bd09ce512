#!/usr/bin/env bash
# Main branch step: finds the workflow run whose preview saved the plan for the commit just pushed
# to main, so the next step can download that run's plan artifact (actions/download-artifact with
# `run-id`). The chain: the pushed commit -> the pull request merged as that commit (GitHub's
# `merge_commit_sha`, the same for merge, squash and rebase merges) -> the newest successful
# `pull_request` run of this workflow on that pull request's head commit.
# Prints and writes to $GITHUB_OUTPUT: `run-id`, `pr`, `head-sha`.
#
# Environment (GitHub Actions sets all but GH_TOKEN):
#   GITHUB_REPOSITORY     owner/name
#   GITHUB_SHA            the commit pushed to main
#   GITHUB_WORKFLOW_REF   owner/name/.github/workflows/<file>@<ref>: this workflow, whose runs are searched
#   GH_TOKEN              a token that can read actions and pull requests (the job's github.token)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env GITHUB_REPOSITORY 'the repository as owner/name (set by GitHub Actions)'
require_env GITHUB_SHA 'the commit pushed to main (set by GitHub Actions)'
require_env GITHUB_WORKFLOW_REF 'this workflow as owner/name/.github/workflows/<file>@<ref> (set by GitHub Actions)'
require_env GH_TOKEN 'give the step env GH_TOKEN: ${{ github.token }}, with job permissions actions: read and pull-requests: read'
if ! [[ "$GITHUB_SHA" =~ ^[0-9a-f]{40}$ ]]; then
  die "GITHUB_SHA is '$GITHUB_SHA', not a 40-digit commit id"
fi
workflow="${GITHUB_WORKFLOW_REF%%@*}"
workflow="${workflow##*/}"

# Filtered here rather than with gh's --jq, so the selection is plain JavaScript a test can feed.
pulls="$(gh api "repos/$GITHUB_REPOSITORY/commits/$GITHUB_SHA/pulls")"
merged="$(node -e '
  const pulls = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const pr = pulls.find((p) => p.merged_at && p.merge_commit_sha === process.argv[1]);
  if (pr) console.log(`${pr.number} ${pr.head.sha}`);
' "$GITHUB_SHA" <<<"$pulls")"
if [ -z "$merged" ]; then
  die "no pull request was merged as $GITHUB_SHA: a change reaches main through a pull request whose preview saved the plan; there is no plan to apply for a direct push"
fi
read -r pr head_sha <<<"$merged"

runs="$(gh run list --repo "$GITHUB_REPOSITORY" --workflow "$workflow" --commit "$head_sha" \
  --event pull_request --status success --limit 1 --json databaseId)"
run_id="$(node -e 'const runs = JSON.parse(require("fs").readFileSync(0, "utf8")); if (runs.length > 0) console.log(runs[0].databaseId);' <<<"$runs")"
if [ -z "$run_id" ]; then
  die "pull request #$pr was merged without a successful '$workflow' run on its head commit $head_sha, so no plan was approved: rerun the preview (README.md \"When the plan no longer matches\")"
fi

echo "pull request #$pr (head $head_sha): plan from run $run_id"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'run-id=%s\npr=%s\nhead-sha=%s\n' "$run_id" "$pr" "$head_sha" >>"$GITHUB_OUTPUT"
fi
