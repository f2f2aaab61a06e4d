import assert from "node:assert/strict";
import { test } from "node:test";

import { FolderStatus, ProgressTracker, statusView } from "../../src/status";

function folder(overrides: Partial<FolderStatus> = {}): FolderStatus {
  return {
    root: "/home/me/proj", index: "/cache/idx", readOnly: false, model: "all-MiniLM-L6-v2", embedderLoaded: true,
    ready: true, version: 7, symbols: 12345, embedded: 12345, pendingChanges: 0, lastErrors: [], lastCommitMs: 3,
    indexing: false, watching: true, health: "ok", healthMessage: null, ...overrides,
  };
}

test("a running progress shows its percentage; its end returns to the symbol count", () => {
  const progress = new ProgressTracker();
  progress.apply("zenith/index/0", { kind: "begin", title: "Indexing proj", message: "reading files" });
  assert.equal(statusView("running", [folder()], progress).text, "$(sync~spin) Zenith");
  progress.apply("zenith/index/0", { kind: "report", message: "100 symbols, 42 embedded", percentage: 42 });
  const busy = statusView("running", [folder()], progress);
  assert.equal(busy.text, "$(sync~spin) Zenith 42 %");
  assert.match(busy.tooltip, /Indexing proj: 100 symbols, 42 embedded/);
  assert.equal(busy.severity, "busy");
  progress.apply("zenith/index/0", { kind: "end", message: "done" });
  const idle = statusView("running", [folder()], progress);
  assert.equal(idle.text, "$(database) Zenith 12,345");
  assert.match(idle.tooltip, /proj: 12,345 symbols, 100 % embedded/);
});

test("a report for a token that never began is ignored", () => {
  const progress = new ProgressTracker();
  progress.apply("x", { kind: "report", percentage: 10 });
  assert.equal(progress.active.length, 0);
});

test("an error beats progress and the count, and clicks through to the log", () => {
  const progress = new ProgressTracker();
  progress.apply("t", { kind: "begin", title: "Indexing" });
  const view = statusView("running", [folder({ health: "error", healthMessage: "opening the index failed" })], progress);
  assert.equal(view.severity, "error");
  assert.match(view.tooltip, /^opening the index failed/);
  assert.equal(statusView("missing", [], progress).severity, "error");
  assert.equal(statusView("stopped", [], progress).text, "$(error) Zenith stopped");
});

test("a degraded folder warns with its reason; a follower says it is read-only", () => {
  const view = statusView(
    "running",
    [folder({ health: "degraded", embedderLoaded: false, healthMessage: "the embedding model is missing" }), folder({ root: "/b", readOnly: true, symbols: 5, embedded: 5 })],
    new ProgressTracker(),
  );
  assert.equal(view.severity, "warning");
  assert.equal(view.text, "$(warning) Zenith 12,350");
  assert.match(view.tooltip, /b: 5 symbols, 100 % embedded, read-only/);
});

test("a folder still embedding shows its embedded share", () => {
  const view = statusView("running", [folder({ health: "embedding", embedded: 6172 })], new ProgressTracker());
  assert.equal(view.text, "$(sync~spin) Zenith 49 %");
});
