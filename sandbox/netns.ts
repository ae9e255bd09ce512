// Network namespaces for tests that need a host this process cannot reach: a bastion namespace
// linked to this one, and a target namespace linked only to the bastion. Names carry this
// process's pid; everything is removed by destroy(), or by a reaper process once this process ends
// (however it ends), and what survives even that is removed by the next createBastionNetwork().
// Needs root and iproute2 (`ip`, `ss`).
//
//   this ns                      emqx-<pid>-<slot>-bastion                emqx-<pid>-<slot>-target
//   10.201.a.b+1 ---- veth ---- 10.201.a.b+2   10.202.a.b+1 ---- veth ---- 10.202.a.b+2
//
// This namespace gets a `throw 10.202.a.b/30` route: the main table has no route to the target,
// so a connect fails with ENETUNREACH instead of going out through the default route (tests may
// address only this machine). The bastion namespace has forwarding off, as every new namespace.
import { ChildProcess, execFile, execFileSync, spawn, spawnSync } from "child_process";

/** Slots of /30 subnets in 10.201.0.0/16 (and the same slot in 10.202.0.0/16). */
const SLOTS = 16384;
const NAME = /^emqx-(\d+)-(\d+)-(bastion|target)$/;

/** Two namespaces behind this one; see the file header for the layout. */
export interface BastionNetwork {
  bastionNetns: string;
  targetNetns: string;
  /** This namespace's end of the link to the bastion. */
  rootAddress: string;
  /** The bastion on the link to this namespace: reachable from here. */
  bastionAddress: string;
  /** The bastion's end of the link to the target: the source of every connection it forwards. */
  bastionInnerAddress: string;
  /** The target, reachable from the bastion only. */
  targetAddress: string;
  /** The target's /30, e.g. "10.202.3.4/30": this namespace has no route to it. */
  targetSubnet: string;
  /** Removes both namespaces (killing what still runs in them), the links and the route. Idempotent. */
  destroy(): void;
}

/** Throws an Error naming the package when `ip` is missing, and one saying why when not root. */
export function requireNetnsSupport(): void {
  const res = spawnSync("ip", ["-V"], { stdio: "pipe" });
  if (res.error) throw new Error(`ip not found (${res.error.message}): install iproute2 (apt-get install iproute2)`);
  if (process.getuid?.() !== 0) throw new Error("network namespaces need root: run the tests as root, as CI does");
}

/** Runs `ip <args>`; throws with the argv and ip's stderr. */
function ip(args: string[]): string {
  try {
    return execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(`ip ${args.join(" ")} failed: ${stderr || (e as Error).message}`);
  }
}

/** Runs `ip <args>` and ignores failure: for removing things that may already be gone. */
function ipQuiet(args: string[]): void {
  spawnSync("ip", args, { stdio: "ignore" });
}

/** Names of the existing network namespaces. */
export function listNetns(): string[] {
  return ip(["netns", "list"])
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
}

/** Creates namespace `name` with `lo` up, replacing a leftover of the same name. */
export function createNetns(name: string): void {
  deleteNetns(name);
  ip(["netns", "add", name]);
  ip(["-n", name, "link", "set", "lo", "up"]);
}

/** Kills what still runs in namespace `name` (processes the tests started there) and removes it.
 * Nothing happens when it does not exist. */
export function deleteNetns(name: string): void {
  if (!listNetns().includes(name)) return;
  killProcessesIn(name);
  ipQuiet(["netns", "del", name]);
}

function killProcessesIn(netns: string): void {
  const pids = spawnSync("ip", ["netns", "pids", netns], { encoding: "utf8" }).stdout ?? "";
  for (const pid of pids
    .split("\n")
    .map(Number)
    .filter((p) => p > 0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** One end of a veth pair: its namespace (undefined = this process's), name and address. */
interface VethEnd {
  netns?: string;
  name: string;
  address: string;
}

/** Links `a` and `b` with a veth pair, each end up with its /30 address. Replaces a leftover link
 * of the same name. */
function addVethPair(a: VethEnd, b: VethEnd & { netns: string }): void {
  const inA = a.netns ? ["-n", a.netns] : [];
  ipQuiet([...inA, "link", "del", a.name]);
  ip([...inA, "link", "add", a.name, "type", "veth", "peer", "name", b.name, "netns", b.netns]);
  for (const end of [a, b]) {
    const inEnd = end.netns ? ["-n", end.netns] : [];
    ip([...inEnd, "addr", "add", `${end.address}/30`, "dev", end.name]);
    ip([...inEnd, "link", "set", end.name, "up"]);
  }
}

/** The addresses and names of slot `slot` of process `pid`. Slot 5 -> 10.201.0.20/30 and 10.202.0.20/30. */
function layout(pid: number, slot: number) {
  const net = (second: number, host: number) => `10.${second}.${slot >> 6}.${(slot & 63) * 4 + host}`;
  return {
    bastionNetns: `emqx-${pid}-${slot}-bastion`,
    targetNetns: `emqx-${pid}-${slot}-target`,
    // At most 15 characters (IFNAMSIZ): "eq" + 7-digit pid + "s" + 5-digit slot.
    rootLink: `eq${pid}s${slot}`,
    rootAddress: net(201, 1),
    bastionAddress: net(201, 2),
    bastionInnerAddress: net(202, 1),
    targetAddress: net(202, 2),
    bastionSubnet: `${net(201, 0)}/30`,
    targetSubnet: `${net(202, 0)}/30`,
  };
}

/** The `ip` commands that remove slot `slot` of `pid` once nothing runs in its namespaces; each
 * may fail because what it removes is gone already. */
function teardownCommands(pid: number, slot: number): string[][] {
  const l = layout(pid, slot);
  return [
    ["route", "del", "throw", l.targetSubnet],
    ["link", "del", l.rootLink], // removes the bastion's end too
    ["-n", l.bastionNetns, "link", "del", "to-target"],
    ["netns", "del", l.targetNetns],
    ["netns", "del", l.bastionNetns],
  ];
}

/** Removes everything of slot `slot` of process `pid`, whatever exists of it. */
function destroyLayout(pid: number, slot: number): void {
  const l = layout(pid, slot);
  for (const ns of [l.targetNetns, l.bastionNetns]) if (listNetns().includes(ns)) killProcessesIn(ns);
  for (const args of teardownCommands(pid, slot)) ipQuiet(args);
}

/** A detached shell that waits for process `pid` to end, however it ends, then tears slot `slot`
 * down. In-process "exit" and signal handlers are not enough: jest gives each test file a copy of
 * `process` whose listeners the real process never calls, and SIGKILL runs no handler at all. */
function startReaper(pid: number, slot: number): ChildProcess {
  const l = layout(pid, slot);
  const script = [
    `while kill -0 ${pid} 2>/dev/null; do sleep 1; done`,
    `for p in $(ip netns pids ${l.targetNetns} 2>/dev/null) $(ip netns pids ${l.bastionNetns} 2>/dev/null); do kill -9 "$p"; done`,
    ...teardownCommands(pid, slot).map((args) => `ip ${args.join(" ")} 2>/dev/null`),
    "exit 0",
  ].join("\n");
  const child = spawn("bash", ["-c", script], { detached: true, stdio: "ignore" });
  child.unref();
  return child;
}

/** Whether this namespace already uses `subnet`: an address, a route into it, or a route that
 * covers it other than the default route. */
function subnetInUse(subnet: string): boolean {
  const routes = [
    ...ip(["-4", "route", "show", "root", subnet]).split("\n"),
    ...ip(["-4", "route", "show", "match", subnet]).split("\n"),
  ];
  return routes.some((r) => r.trim() !== "" && !r.startsWith("default"));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the namespaces (and their links and routes) of processes that died without cleaning up. */
function removeLeftovers(): void {
  for (const name of listNetns()) {
    const m = NAME.exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) destroyLayout(Number(m[1]), Number(m[2]));
  }
}

let counter = 0;

/** Creates the bastion and target namespaces and their links on a free pair of /30 subnets, the
 * slot derived from the pid so parallel test processes do not collide. */
export function createBastionNetwork(): BastionNetwork {
  requireNetnsSupport();
  removeLeftovers();
  const pid = process.pid;
  const taken = new Set(
    listNetns()
      .map((n) => NAME.exec(n)?.[2])
      .filter(Boolean)
      .map(Number),
  );
  const start = (pid * 97 + counter++ * 13) % SLOTS;
  let slot = -1;
  for (let i = 0; i < SLOTS && slot < 0; i++) {
    const candidate = (start + i) % SLOTS;
    const l = layout(pid, candidate);
    if (!taken.has(candidate) && !subnetInUse(l.bastionSubnet) && !subnetInUse(l.targetSubnet)) slot = candidate;
  }
  if (slot < 0) throw new Error("no free /30 pair left in 10.201.0.0/16 and 10.202.0.0/16");

  const l = layout(pid, slot);
  const reaper = startReaper(pid, slot);
  const destroy = () => {
    if (reaper.exitCode === null && reaper.signalCode === null) reaper.kill("SIGKILL");
    destroyLayout(pid, slot);
  };
  try {
    createNetns(l.bastionNetns);
    createNetns(l.targetNetns);
    addVethPair(
      { name: l.rootLink, address: l.rootAddress },
      { netns: l.bastionNetns, name: "to-root", address: l.bastionAddress },
    );
    addVethPair(
      { netns: l.bastionNetns, name: "to-target", address: l.bastionInnerAddress },
      { netns: l.targetNetns, name: "to-bastion", address: l.targetAddress },
    );
    ip(["route", "replace", "throw", l.targetSubnet]);
  } catch (e) {
    destroy();
    throw e;
  }
  return { ...l, destroy };
}

/** A TCP port nothing listens on in namespace `netns` right now (net.createServer would bind in
 * this process's namespace, so the choice comes from `ss` run inside it). */
export function freePortInNetns(netns: string): number {
  const listening = new Set(
    ip(["netns", "exec", netns, "ss", "-Htln"])
      .split("\n")
      .map((l) => Number(/:(\d+)\s/.exec(l)?.[1])),
  );
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    if (!listening.has(port)) return port;
  }
}

/** Whether a TCP connect to host:port succeeds from inside namespace `netns` (bash's /dev/tcp). */
export function canConnectInNetns(netns: string, host: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      "ip",
      ["netns", "exec", netns, "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`],
      { timeout: timeoutMs },
      (err) => resolve(!err),
    );
  });
}
