import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { checkVersion, compareVersions, findServer, parseVersion } from "../../src/server";

function executable(dir: string, body = "#!/bin/sh\necho 'znt 0.1.0'\n"): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "znt");
  writeFileSync(path, body);
  chmodSync(path, 0o755);
  return path;
}

test("the setting wins, then PATH, then ~/.cargo/bin", () => {
  const base = mkdtempSync(join(tmpdir(), "zenith-discovery-"));
  const configured = executable(join(base, "configured"));
  const onPath = executable(join(base, "bin"));
  const cargo = executable(join(base, "home", ".cargo", "bin"));
  const env = { PATH: `${join(base, "empty")}:${join(base, "bin")}` };
  assert.deepEqual(findServer(configured, env, join(base, "home")), { found: true, path: configured, source: "setting" });
  assert.deepEqual(findServer("", env, join(base, "home")), { found: true, path: onPath, source: "PATH" });
  assert.deepEqual(findServer("", { PATH: join(base, "empty") }, join(base, "home")), { found: true, path: cargo, source: "~/.cargo/bin" });
});

test("a configured path that is not executable is an error naming the setting, never a silent fallback", () => {
  const base = mkdtempSync(join(tmpdir(), "zenith-discovery-"));
  executable(join(base, "bin"));
  const plain = join(base, "notexec");
  writeFileSync(plain, "");
  const result = findServer(plain, { PATH: join(base, "bin") }, base);
  assert.equal(result.found, false);
  if (!result.found) assert.match(result.message, /zenith\.server\.path is set to .*notexec/);
});

test("nothing found lists every place looked at and the fix", () => {
  const base = mkdtempSync(join(tmpdir(), "zenith-discovery-"));
  const result = findServer("", { PATH: join(base, "a") }, base);
  assert.equal(result.found, false);
  if (!result.found) {
    assert.deepEqual(result.tried, [join(base, "a", "znt"), join(base, ".cargo", "bin", "znt")]);
    assert.match(result.message, /cargo install/);
  }
});

test("versions are parsed from --version and compared numerically", async () => {
  assert.equal(parseVersion("znt 0.12.3\n"), "0.12.3");
  assert.equal(parseVersion("ripgrep 14.1.0"), undefined);
  assert.equal(compareVersions("0.10.0", "0.9.9"), 1);
  assert.equal(compareVersions("0.1.0", "0.1.0"), 0);
  const base = mkdtempSync(join(tmpdir(), "zenith-version-"));
  assert.deepEqual(await checkVersion(executable(join(base, "ok"))), { version: "0.1.0" });
  const old = await checkVersion(executable(join(base, "old"), "#!/bin/sh\necho 'znt 0.0.9'\n"));
  assert.ok("error" in old && /needs 0\.1\.0 or newer/.test(old.error));
  const other = await checkVersion(executable(join(base, "other"), "#!/bin/sh\necho 'something else'\n"));
  assert.ok("error" in other && /does not look like Zenith/.test(other.error));
});
