// Where an emulated install keeps its state, and how it is read and written.
// Real files (docs/emqx-4.4-hot-upgrade.md Appendix A): releases/RELEASES, releases/start_erl.data, releases/emqx_vars,
// data/configs/vm.<ts>.args, bin/*. Emulator-only files under <root>/.emulator/: state.json
// (what lives in the node's memory), faults.json, calls.log, lock (release_handler is one
// gen_server, so its calls are serialized with this lock).
"use strict";

const fs = require("fs");
const path = require("path");
const { parseTerm, fmtString, isAtom, isTuple } = require("./erlang-term");

/** Every path the emulator touches, from the install root `<R>`. */
function installPaths(root) {
  const emu = path.join(root, ".emulator");
  return {
    root,
    bin: path.join(root, "bin"),
    releases: path.join(root, "releases"),
    releasesFile: path.join(root, "releases", "RELEASES"),
    startErlData: path.join(root, "releases", "start_erl.data"),
    emqxVars: path.join(root, "releases", "emqx_vars"),
    emu,
    state: path.join(emu, "state.json"),
    faults: path.join(emu, "faults.json"),
    callsLog: path.join(emu, "calls.log"),
    lock: path.join(emu, "lock"),
  };
}

/** Version carried by a launcher file (`EMQX_EMULATOR_SCRIPT_VSN="4.4.16"`), undefined if none. */
function launcherVersion(file) {
  try {
    const m = /EMQX_EMULATOR_SCRIPT_VSN="([^"]+)"/.exec(fs.readFileSync(file, "utf8"));
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/** The variables `bin/emqx` gets by sourcing `releases/emqx_vars`: last assignment wins (docs/emqx-4.4-hot-upgrade.md
 * §2.7). Only `$RUNNER_ROOT_DIR` / `${RUNNER_ROOT_DIR}` are expanded; nothing else in the file needs it. */
function readEmqxVars(root) {
  const text = fs.readFileSync(installPaths(root).emqxVars, "utf8");
  const vars = { RUNNER_ROOT_DIR: root };
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if (v.startsWith("'") && v.endsWith("'") && v.length >= 2) {
      v = v.slice(1, -1);
    } else {
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
      v = v.replace(/\$\{?RUNNER_ROOT_DIR\}?/g, root);
    }
    vars[m[1]] = v;
  }
  return vars;
}

/** faults.json, read on every call; a missing or unreadable file means no faults. */
function readFaults(root) {
  try {
    return JSON.parse(fs.readFileSync(installPaths(root).faults, "utf8")) || {};
  } catch {
    return {};
  }
}

/** The node's in-memory state, or undefined when the node was never started by the emulator. */
function loadState(root) {
  try {
    return JSON.parse(fs.readFileSync(installPaths(root).state, "utf8"));
  } catch {
    return undefined;
  }
}

/** Writes state.json atomically (temp file + rename), so concurrent readers never see half. */
function saveState(root, state) {
  const p = installPaths(root);
  fs.mkdirSync(p.emu, { recursive: true });
  const tmp = `${p.state}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  fs.renameSync(tmp, p.state);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/** An empty lock file older than this is taken over (see withLock). */
const EMPTY_LOCK_STALE_MS = 2000;

/** Which file a lock is: inode and change time. A freed inode is soon reused, so the inode alone
 * cannot tell the dead holder's lock from the next caller's. */
function lockIdentity(st) {
  return `${st.ino}:${st.ctimeNs}`;
}

/** The lock file's holder pid (0 while the holder has not written it yet), age and identity, read
 * from one open file; undefined when there is no lock. */
function readLock(file) {
  let fd;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    if (e.code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    return {
      holder: Number(fs.readFileSync(fd, "utf8")),
      ageMs: Date.now() - Number(st.mtimeMs),
      identity: lockIdentity(st),
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs `fn` holding the release_handler lock (one gen_server call at a time, as in the node).
 * A lock left by a dead process (killed mid-call) is taken over, and only that lock: between
 * reading a holder's pid and finding it dead, the holder may have released the lock and another
 * caller taken it, so the file is unlinked only while it is still the one read. */
async function withLock(root, fn) {
  const p = installPaths(root);
  fs.mkdirSync(p.emu, { recursive: true });
  for (;;) {
    let fd;
    try {
      fd = fs.openSync(p.lock, "wx");
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      const lock = readLock(p.lock);
      if (lock === undefined) continue; // just released
      // An empty lock file is one whose holder could not write its pid (a full disk): release_handler
      // lives in the node's memory and needs no disk, so such a lock is taken over once it is stale.
      const stale =
        (Number.isInteger(lock.holder) && lock.holder > 0 && !pidAlive(lock.holder)) ||
        (lock.holder === 0 && lock.ageMs > EMPTY_LOCK_STALE_MS);
      if (stale) {
        try {
          if (lockIdentity(fs.statSync(p.lock, { bigint: true })) === lock.identity) fs.unlinkSync(p.lock);
        } catch {
          /* someone else took it over */
        }
        continue;
      }
      await sleep(20);
      continue;
    }
    try {
      fs.writeSync(fd, String(process.pid));
    } catch {
      /* a full disk: the lock is held all the same, by an empty file */
    }
    fs.closeSync(fd);
    break;
  }
  try {
    return await fn();
  } finally {
    try {
      fs.unlinkSync(p.lock);
    } catch {
      /* already gone */
    }
  }
}

/** Appends one JSON line to calls.log (a single O_APPEND write, so concurrent calls don't mix). */
function appendCall(root, entry) {
  const p = installPaths(root);
  try {
    fs.mkdirSync(p.emu, { recursive: true });
    fs.appendFileSync(p.callsLog, JSON.stringify(entry) + "\n");
    // Any caller (root, RUNNER_USER, a non-root ssh user) must be able to log the next call.
    try {
      fs.chmodSync(p.callsLog, 0o666);
    } catch {
      /* owned by someone else: already shared */
    }
  } catch (e) {
    process.stderr.write(`emqx emulator: cannot write ${p.callsLog}: ${e.message}\n`);
  }
}

/** Newest `vm.*.args` in `<data>/configs/` (names sort by timestamp), undefined if none. */
function newestVmArgs(dataDir) {
  const dir = path.join(dataDir, "configs");
  let names = [];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => /^vm\..+\.args$/.test(n))
      .sort();
  } catch {
    /* no dir */
  }
  return names.length ? path.join(dir, names[names.length - 1]) : undefined;
}

/** Node name and cookie from a vm.args file (`-name` / `-sname`, `-setcookie`). */
function readVmArgs(file) {
  const out = { name: undefined, nameType: "-name", cookie: undefined };
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*(-s?name|-setcookie)\s+(\S+)/.exec(line);
    if (!m) continue;
    if (m[1] === "-setcookie") out.cookie = m[2];
    else {
      out.name = m[2];
      out.nameType = m[1];
    }
  }
  return out;
}

/** The release list of `releases/RELEASES`: [{vsn, erts, libs: [[app, appVsn, dir]], status}]. */
function readReleasesFile(root) {
  const term = parseTerm(fs.readFileSync(installPaths(root).releasesFile, "utf8"));
  if (!Array.isArray(term)) throw new Error("RELEASES is not a list");
  return term
    .filter((t) => isTuple(t, 6) && isAtom(t.items[0], "release"))
    .map((t) => ({
      vsn: t.items[2],
      erts: t.items[3],
      libs: t.items[4].map((l) => [l.items[0].name, l.items[1], l.items[2]]),
      status: t.items[5].name,
    }));
}

/** Text of `releases/RELEASES` for a release list, laid out like release_handler's `~tp`;
 * `current` is written as `unpacked`, exactly as release_handler does (docs/emqx-4.4-hot-upgrade.md §2.8). */
function releasesFileText(releases) {
  const one = (r) => {
    const libs = r.libs.map(([a, v, d]) => `{${a},${fmtString(v)},${fmtString(d)}}`).join(",\n           ");
    const status = r.status === "current" ? "unpacked" : r.status;
    return `{release,"emqx",${fmtString(r.vsn)},${fmtString(r.erts)},\n          [${libs}],\n          ${status}}`;
  };
  return `%% coding: utf-8\n[${releases.map(one).join(",\n ")}].\n`;
}

/** Release record from a `.rel` file: {release,{"emqx",Vsn},{erts,Ervs},[{App,AppVsn}...]}. */
function readRelFile(file, libRoot) {
  const t = parseTerm(fs.readFileSync(file, "utf8"));
  if (!isTuple(t, 4) || !isAtom(t.items[0], "release")) throw new Error("bad rel file");
  const vsn = t.items[1].items[1];
  const erts = t.items[2].items[1];
  const libs = t.items[3].map((a) => {
    const [app, appVsn] = a.items;
    return [app.name, appVsn, path.join(libRoot, "lib", `${app.name}-${appVsn}`)];
  });
  return { vsn, erts, libs };
}

/** `relup` file as {up: [keys], down: [keys]}, undefined when the file does not exist. */
function readRelup(file) {
  if (!fs.existsSync(file)) return undefined;
  const t = parseTerm(fs.readFileSync(file, "utf8"));
  const keys = (list) => (Array.isArray(list) ? list.map((e) => (isTuple(e) ? e.items[0] : undefined)) : []);
  return { vsn: t.items[0], up: keys(t.items[1]), down: keys(t.items[2]) };
}

/** Erlang-style reason of a failed file operation: EACCES -> eacces. */
function posixReason(e) {
  return typeof e.code === "string" && /^E[A-Z0-9]+$/.test(e.code) ? e.code.toLowerCase() : "einval";
}

module.exports = {
  installPaths,
  launcherVersion,
  readEmqxVars,
  readFaults,
  loadState,
  saveState,
  withLock,
  appendCall,
  newestVmArgs,
  readVmArgs,
  readReleasesFile,
  releasesFileText,
  readRelFile,
  readRelup,
  posixReason,
  sleep,
  pidAlive,
};
