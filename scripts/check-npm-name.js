#!/usr/bin/env node
// Is the package name in package.json ours to publish under? Asks the npm registry for the name's
// document (GET <registry>/<name>) and reads the answer:
//   404             the name is free (never published): exit 0
//   versions found  each published version's `gitHead` (the commit `npm publish` recorded) must be a
//                   commit of this repository; one that is not (or has none) means the name belongs to
//                   someone else, and `npm install <name>` would install their code: exit 1.
//                   With --release, package.json's version must not be published yet: exit 1 if it is.
//   no answer       (no network, DNS, timeout, a 5xx): says NOT CHECKED and exits 0, so CI does not
//                   fail on the registry's weather; with --release it exits 1 (a release must know).
// Usage: node scripts/check-npm-name.js [--release]   (RELEASING.md; .ci/run runs it without --release)
// Environment: npm_config_registry (set by npm itself, or by hand) overrides `npm config get registry`.
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const repo = path.resolve(__dirname, "..");
const TIMEOUT_MS = 20000;

function registryUrl() {
  const configured =
    process.env.npm_config_registry || execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim();
  return configured.endsWith("/") ? configured : `${configured}/`;
}

/** Whether `sha` names a commit of this repository. */
function isOurCommit(sha) {
  if (typeof sha !== "string" || !/^[0-9a-f]{7,40}$/.test(sha)) return false;
  try {
    execFileSync("git", ["cat-file", "-e", `${sha}^{commit}`], { cwd: repo, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const release = process.argv.includes("--release");
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8"));
  const registry = registryUrl();
  const url = `${registry}${pkg.name.replace("/", "%2f")}`;
  const say = (text) => process.stdout.write(`npm name check: ${text}\n`);

  let response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    const cause = (e && e.cause) || e;
    const reason = (cause && (cause.code || cause.message)) || String(e);
    say(`NOT CHECKED: ${registry} did not answer (${reason}); check by hand: npm view ${pkg.name}`);
    return release ? 1 : 0;
  }
  if (response.status === 404) {
    say(`${pkg.name} is free on ${registry} (never published)`);
    return 0;
  }
  if (!response.ok) {
    say(`NOT CHECKED: ${url} answered HTTP ${response.status}; check by hand: npm view ${pkg.name}`);
    return release ? 1 : 0;
  }
  const doc = await response.json();
  const versions = Object.entries(doc.versions || {});
  const foreign = versions.filter(([, v]) => !isOurCommit(v && v.gitHead));
  if (foreign.length > 0) {
    const list = foreign
      .slice(0, 10)
      .map(([v, m]) => `${v} (gitHead ${(m && m.gitHead) || "none"})`)
      .join(", ");
    say(
      `${pkg.name} on ${registry} has versions not published from this repository's commits: ${list}. ` +
        `The name belongs to someone else and \`npm install ${pkg.name}\` installs their code: ` +
        `rename the package (package.json name, README install lines) before publishing`,
    );
    return 1;
  }
  const published = versions.map(([v]) => v);
  if (published.includes(pkg.version)) {
    say(
      `${pkg.name}@${pkg.version} is already published (from this repository); ${release ? "bump the version (RELEASING.md)" : "the next release bumps it"}`,
    );
    return release ? 1 : 0;
  }
  say(
    `${pkg.name} is ours on ${registry}: ${published.length} version(s) published, all from this repository's commits; ${pkg.version} is not published yet`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`npm name check failed: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
