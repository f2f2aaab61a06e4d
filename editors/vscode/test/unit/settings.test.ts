import assert from "node:assert/strict";
import { test } from "node:test";

import { SERVER_SETTINGS, needsRestart, serverLayer } from "../../src/settings";

test("only the settings the user set are sent, under the server's sections and keys", () => {
  const set: Record<string, unknown> = { "index.maxFileBytes": 4096, "embed.enabled": false, "lsp.symbolLimit": 50 };
  assert.deepEqual(serverLayer((name) => set[name]), {
    index: { max_file_bytes: 4096 },
    embed: { enabled: false },
    lsp: { symbol_limit: 50 },
  });
});

test("nothing set sends an empty layer, and null means Zenith's default", () => {
  assert.deepEqual(serverLayer(() => undefined), {});
  assert.deepEqual(serverLayer(() => null), {});
});

test("every server key is one of docs/configuration.md's, with no duplicate", () => {
  const documented = new Set([
    "index.dir", "index.max_file_bytes", "index.secret_patterns", "index.skipped_dirs", "index.skip_hidden",
    "index.parse_deadline_ms", "embed.enabled", "embed.threads", "embed.batch_size", "embed.max_tokens",
    "embed.precision", "lsp.symbol_limit", "lsp.batch_window_ms", "lsp.symbol_scope", "team.remote", "team.repo", "team.push",
    "team.push_interval_secs", "team.exclude",
  ]);
  const mapped = SERVER_SETTINGS.map(({ section, key }) => `${section}.${key}`);
  assert.equal(new Set(mapped).size, mapped.length);
  assert.deepEqual(new Set(mapped), documented);
});

test("every mapped setting is contributed by package.json, and every contributed server setting is mapped", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const manifest = require("../../../package.json");
  const contributed = Object.keys(manifest.contributes.configuration.properties).map((k) => k.replace(/^zenith\./, ""));
  const serverSide = contributed.filter((k) => /^(index|embed|lsp|team)\./.test(k));
  assert.deepEqual(new Set(serverSide), new Set(SERVER_SETTINGS.map((s) => s.setting)));
});

test("model and location settings restart the server; the others are sent live", () => {
  assert.equal(needsRestart((n) => n === "embed.precision"), true);
  assert.equal(needsRestart((n) => n === "server.path"), true);
  assert.equal(needsRestart((n) => n === "index.dir"), true);
  assert.equal(needsRestart((n) => n === "index.maxFileBytes"), false);
  assert.equal(needsRestart((n) => n === "lsp.symbolLimit"), false);
});
