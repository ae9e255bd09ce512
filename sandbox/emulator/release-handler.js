// The node side: what OTP's release_handler does inside the running broker when the escript
// calls it over RPC (docs/emqx-4.4-hot-upgrade.md §2.5 step 4, §2.6, §2.7 step 1, §2.8, §3.4). Each call runs under the
// state lock, as release_handler is one gen_server. Results are `{ok: value}` or
// `{error: "<reason as the escript prints it with ~p>"}`.
"use strict";

const fs = require("fs");
const path = require("path");
const { fmtString } = require("./erlang-term");
const {
  installPaths,
  loadState,
  saveState,
  withLock,
  readReleasesFile,
  releasesFileText,
  readRelFile,
  readRelup,
  posixReason,
  sleep,
} = require("./state");
const { readTar, extractKeepOld } = require("./tar");

/** Runs `fn(state)` as one release_handler call; the state is saved when `fn` returns dirty. */
async function rhCall(root, fn) {
  return withLock(root, async () => {
    const st = loadState(root) || emptyState();
    const res = await fn(st);
    if (res.dirty) saveState(root, st);
    return res;
  });
}

function emptyState() {
  return { running: false, runningVsn: undefined, runningErts: undefined, releases: [] };
}

const ok = (value, dirty = false) => ({ ok: value === undefined ? true : value, dirty });
const error = (reason) => ({ error: reason, dirty: false });

/** `which_releases`: [{vsn, status}] in release_handler's order (newly unpacked first). */
const whichReleases = (st) => st.releases.map((r) => ({ vsn: r.vsn, status: r.status }));

/** The escript's `current_release_version`: the `current` release, else the `permanent` one. */
function currentReleaseVersion(st) {
  const cur = st.releases.find((r) => r.status === "current") || st.releases.find((r) => r.status === "permanent");
  return cur ? cur.vsn : undefined;
}

function writeReleases(root, releases) {
  fs.writeFileSync(installPaths(root).releasesFile, releasesFileText(releases));
}

/** `release_handler:unpack_release("<V>/emqx")`: reads `releases/<V>/emqx.tar.gz`, extracts just
 * `releases/<V>/emqx.rel`, reads it (absent -> enoent with the node's root), then extracts the
 * whole package with keep_old_files and registers the release `unpacked`, first in the list. */
function unpackRelease(root, st, V) {
  const tar = path.join(root, "releases", V, "emqx.tar.gz");
  if (!fs.existsSync(tar)) return error(`{no_such_file,${fmtString(tar)}}`);
  let entries;
  try {
    entries = readTar(fs.readFileSync(tar));
  } catch {
    return error(`{${fmtString(tar)},eof}`);
  }
  const relName = `releases/${V}/emqx.rel`;
  const relFile = path.join(root, relName);
  const relEntry = entries.find((e) => e.name === relName && e.type === "file");
  try {
    if (relEntry) {
      fs.mkdirSync(path.dirname(relFile), { recursive: true });
      fs.writeFileSync(relFile, relEntry.data);
    }
  } catch (e) {
    return error(`{${fmtString(relFile)},${posixReason(e)}}`);
  }
  if (!fs.existsSync(relFile)) return error(`{enoent,${fmtString(relFile)}}`);
  let rel;
  try {
    rel = readRelFile(relFile, root);
  } catch {
    return error(`{bad_rel_file,${fmtString(relFile)}}`);
  }
  if (st.releases.some((r) => r.vsn === rel.vsn)) return error(`{existing_release,${fmtString(rel.vsn)}}`);
  const releases = [{ ...rel, status: "unpacked" }, ...st.releases];
  try {
    extractKeepOld(root, entries);
    writeReleases(root, releases);
  } catch (e) {
    return error(posixReason(e));
  }
  st.releases = releases;
  try {
    fs.unlinkSync(tar);
  } catch {
    /* release_handler ignores this */
  }
  return ok(rel.vsn, true);
}

/** Which relup path joins `to` and `from` (docs/emqx-4.4-hot-upgrade.md §3.4): `to`'s up-list, else `from`'s down-list.
 * "no_relup_file" when `to` ships no relup and `from`'s down-list does not help either. */
function relupPath(root, to, from) {
  const relupOf = (v) => {
    try {
      return readRelup(path.join(root, "releases", v, "relup"));
    } catch {
      return undefined;
    }
  };
  const toRelup = relupOf(to);
  if (toRelup && toRelup.up.includes(from)) return "up";
  const fromRelup = relupOf(from);
  if (fromRelup && fromRelup.down.includes(to)) return "down";
  return toRelup ? "no_match" : "no_relup_file";
}

/** `release_handler:check_install_release(V)`: start.boot, lib dirs and a relup path; a target
 * without any relup file passes here and fails in install_release (docs/emqx-4.4-hot-upgrade.md §3.4). */
function checkInstallRelease(root, st, V) {
  const rel = st.releases.find((r) => r.vsn === V);
  if (!rel) return error(`{no_such_release,${fmtString(V)}}`);
  if (rel.status === "current") return error(`{already_installed,${fmtString(V)}}`);
  const boot = path.join(root, "releases", V, "start.boot");
  if (!fs.existsSync(boot)) return error(`{no_such_file,${fmtString(boot)}}`);
  for (const [, , dir] of rel.libs) {
    if (!fs.existsSync(dir)) return error(`{no_such_directory,${fmtString(dir)}}`);
  }
  const C = currentReleaseVersion(st);
  if (relupPath(root, V, C) === "no_match") return error(`{no_matching_relup,${fmtString(V)},${fmtString(C)}}`);
  return ok(V);
}

/** `release_handler:install_release(V)`: runs the relup (the code switch). `holdMs` sleeps first,
 * inside the call (the gen_server is busy meanwhile). Does not write RELEASES (docs/emqx-4.4-hot-upgrade.md §2.5). */
async function installRelease(root, st, V, holdMs) {
  if (holdMs > 0) await sleep(holdMs);
  const rel = st.releases.find((r) => r.vsn === V);
  if (!rel) return error(`{no_such_release,${fmtString(V)}}`);
  const C = currentReleaseVersion(st);
  const via = relupPath(root, V, C);
  if (via === "no_match" || via === "no_relup_file") {
    return error(`{no_matching_relup,${fmtString(V)},${fmtString(C)}}`);
  }
  for (const r of st.releases) {
    if (r.vsn === V) {
      if (r.status !== "permanent") r.status = "current";
    } else if (r.status === "current") {
      r.status = "old";
    }
  }
  st.runningVsn = V;
  return ok(V, true);
}

/** `release_handler:make_permanent(V)`: RELEASES and start_erl.data (docs/emqx-4.4-hot-upgrade.md §2.7 step 1). */
function makePermanent(root, st, V) {
  const rel = st.releases.find((r) => r.vsn === V);
  if (!rel) return error(`{no_such_release,${fmtString(V)}}`);
  if (rel.status === "permanent") return ok();
  if (rel.status !== "current") return error(`{bad_status,${rel.status}}`);
  const releases = st.releases.map((r) => ({
    ...r,
    status: r.vsn === V ? "permanent" : r.status === "permanent" ? "old" : r.status,
  }));
  try {
    writeReleases(root, releases);
    fs.writeFileSync(installPaths(root).startErlData, `${rel.erts} ${V}`);
  } catch (e) {
    return error(posixReason(e));
  }
  st.releases = releases;
  return ok(undefined, true);
}

/** `release_handler:remove_release(V)`: deletes lib dirs no other release uses, `releases/<V>/`,
 * `erts-<ervs>` when unreferenced, then rewrites RELEASES (docs/emqx-4.4-hot-upgrade.md §3.2). */
function removeRelease(root, st, V) {
  const rel = st.releases.find((r) => r.vsn === V);
  if (!rel) return error(`{no_such_release,${fmtString(V)}}`);
  if (rel.status === "permanent") return error(`{permanent,${fmtString(V)}}`);
  const others = st.releases.filter((r) => r !== rel);
  const inUse = new Set(others.flatMap((r) => r.libs.map((l) => l[2])));
  try {
    for (const [, , dir] of rel.libs) if (!inUse.has(dir)) fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(path.join(root, "releases", V), { recursive: true, force: true });
    if (!others.some((r) => r.erts === rel.erts))
      fs.rmSync(path.join(root, `erts-${rel.erts}`), { recursive: true, force: true });
    writeReleases(root, others);
  } catch (e) {
    return error(posixReason(e));
  }
  st.releases = others;
  return ok(undefined, true);
}

/** A boot of the node: the release list comes from RELEASES on disk (so `current` is gone and
 * shows as `unpacked`, docs/emqx-4.4-hot-upgrade.md §2.8); `vsn`/`erts` say which release's code runs. */
function boot(root, st, vsn, erts) {
  st.releases = readReleasesFile(root);
  st.running = true;
  st.runningVsn = vsn;
  st.runningErts = erts;
  // The VM's start: `emqx ctl broker` reports uptime from it (clients.js).
  st.bootedAt = Date.now();
  return ok(vsn, true);
}

module.exports = {
  rhCall,
  whichReleases,
  currentReleaseVersion,
  unpackRelease,
  checkInstallRelease,
  installRelease,
  makePermanent,
  removeRelease,
  boot,
};
