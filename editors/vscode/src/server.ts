// Finding the `znt` binary, as rust-analyzer's extension finds its server: the setting, then
// `PATH`, then `~/.cargo/bin`. No `vscode` import, so it is unit-tested in Node.
import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

/** The oldest server whose protocol this extension speaks (`health` in zenith/status). */
export const MIN_SERVER_VERSION = "0.1.0";

export type Discovery =
  | { found: true; path: string; source: "setting" | "PATH" | "~/.cargo/bin" }
  | { found: false; tried: string[]; message: string };

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const INSTALL_HINT = "Install it with `cargo install --path .` in a Zenith checkout (it lands in ~/.cargo/bin), " +
  "or set `zenith.server.path` to the binary.";

/** Where the server is, or every place that was looked at and the fix. */
export function findServer(setting: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): Discovery {
  const name = process.platform === "win32" ? "znt.exe" : "znt";
  const configured = setting.trim().replace(/^~(?=$|\/)/, home);
  if (configured) {
    // A path the user wrote is never silently replaced by another binary.
    if (isExecutable(configured)) return { found: true, path: configured, source: "setting" };
    return {
      found: false,
      tried: [configured],
      message: `zenith.server.path is set to ${configured}, which is not an executable file. Fix the setting or clear it to use znt from PATH.`,
    };
  }
  const tried: string[] = [];
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    tried.push(candidate);
    if (isExecutable(candidate)) return { found: true, path: candidate, source: "PATH" };
  }
  const cargo = join(env.CARGO_HOME ?? join(home, ".cargo"), "bin", name);
  tried.push(cargo);
  if (isExecutable(cargo)) return { found: true, path: cargo, source: "~/.cargo/bin" };
  return { found: false, tried, message: `The Zenith server (znt) was not found on PATH or in ~/.cargo/bin. ${INSTALL_HINT}` };
}

/** `znt 0.1.0` -> `0.1.0`. */
export function parseVersion(output: string): string | undefined {
  return /\bznt\s+(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

/** Semantic-version comparison of `major.minor.patch`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Runs `znt --version`; an error message with the fix when it fails or is too old. */
export function checkVersion(path: string): Promise<{ version: string } | { error: string }> {
  return new Promise((resolve) => {
    execFile(path, ["--version"], { timeout: 10_000 }, (error, stdout) => {
      if (error) {
        resolve({ error: `${path} --version failed (${error.message.split("\n")[0]}). ${INSTALL_HINT}` });
        return;
      }
      const version = parseVersion(stdout);
      if (!version) {
        resolve({ error: `${path} does not look like Zenith's znt (its --version printed "${stdout.trim()}").` });
      } else if (compareVersions(version, MIN_SERVER_VERSION) < 0) {
        resolve({ error: `${path} is Zenith ${version}; this extension needs ${MIN_SERVER_VERSION} or newer. ${INSTALL_HINT}` });
      } else {
        resolve({ version });
      }
    });
  });
}
