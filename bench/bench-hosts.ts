// EMQX test hosts for the rollout benchmark: the same emulated install and real sshd as
// sandbox/test-host.ts, plus sshd options (the benchmark's sshd sets SHLVL, see SSHD_CONFIG),
// and a reset that lays the install out again for the next run.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createEmulatedInstall, EmulatorFaults, readCallLog, setFaults } from "../sandbox/emulator/install";
import { startSshd, TestSshd } from "../sandbox/sshd";

/** sshd_config lines of every benchmark sshd. Debian's bash runs ~/.bashrc for every command sshd
 * starts while SHLVL < 1; on this machine root's ~/.bashrc runs `pyenv init`, which costs ~0.4 s of
 * CPU per SSH command (measured in section 1). SHLVL=1 skips it, so the figures measure our work
 * and EMQX's, not this machine's shell profile. */
export const SSHD_CONFIG = ["SetEnv SHLVL=1"];

/** One benchmark host. */
export interface BenchHost {
  sshd: TestSshd;
  root: string;
  emqxPath: string;
  /** Lays out a fresh install running `version`, with `faults` (keeps the untar dir in the host's dir). */
  reset(version: string, faults: EmulatorFaults): void;
  calls(): ReturnType<typeof readCallLog>;
  stop(): Promise<void>;
}

/** Starts sshd on `address`; the install is laid out by `reset`. */
export async function startBenchHost(address: string): Promise<BenchHost> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-bench-host-"));
  const root = path.join(base, "emqx");
  const untarDir = path.join(base, "tmp");
  const sshd = await startSshd({ host: address, extraConfig: SSHD_CONFIG });
  return {
    sshd,
    root,
    emqxPath: path.join(root, "bin", "emqx"),
    reset: (version, faults) => {
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(untarDir, { recursive: true, force: true });
      fs.mkdirSync(untarDir);
      createEmulatedInstall({ root, version });
      setFaults(root, { ...faults, untarDir });
    },
    calls: () => readCallLog(root),
    stop: async () => {
      await sshd.stop();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
