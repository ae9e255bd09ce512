// A CPU profile of any node process, for the preview benchmark's analysis: load it with
// NODE_OPTIONS="--require <repo>/dist/bench/cpu-profile-hook.js" (node refuses --cpu-prof there) and
// each node process (the stack driver, the dynamic provider) writes
// $BENCH_PROFILE_DIR/<pid>.cpuprofile when it exits; open them in Chrome DevTools.
import * as fs from "fs";
import * as inspector from "inspector";
import * as path from "path";

const dir = process.env.BENCH_PROFILE_DIR ?? "/tmp";
const session = new inspector.Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.start");
let written = false;

/** Stops the profiler and writes the profile (the in-process session answers synchronously). */
function writeProfile(): void {
  if (written) return;
  written = true;
  session.post("Profiler.stop", (err, r) => {
    if (!err) fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(r.profile));
  });
}

process.on("exit", writeProfile);
