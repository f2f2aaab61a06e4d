// Drives the real `znt serve` through vscode-jsonrpc exactly as the extension does: the same
// initializationOptions (settings.ts), progress tokens tracked into the status bar's text
// (status.ts), the requests the two pickers send and the rows they show (items.ts).
// ZNT names the binary (scripts/env.sh sets it); the test fails when it is missing.
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";

import {
  MessageConnection,
  ProgressType,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
} from "vscode-jsonrpc/node";

import { SearchResult, WorkspaceSymbol, searchItems, searchParams, symbolItems } from "../../src/items";
import { serverLayer } from "../../src/settings";
import { FolderStatus, ProgressTracker, ProgressValue, statusView } from "../../src/status";

const ZNT = process.env.ZNT ?? "";

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), "zenith-vscode-"));
  mkdirSync(join(root, ".git"));
  mkdirSync(join(root, "src"));
  writeFileSync(
    join(root, "src", "books.js"),
    "/** Registers a book with the official catalogue. */\nfunction initBookForOfficial(book) { return book; }\n" +
      "function inBetweenFiles() {}\nclass BookIndex {}\n",
  );
  writeFileSync(
    join(root, "src", "accounts.py"),
    'class UserService:\n    def create_user(self, name, email):\n        """Create a new user account and store it."""\n' +
      "        return name\n\n    def delete_everything(self):\n        \"\"\"Drop every table.\"\"\"\n",
  );
  return root;
}

class Session {
  readonly process: ChildProcess;
  readonly connection: MessageConnection;
  readonly progress = new ProgressTracker();
  readonly begun: string[] = [];
  readonly texts: string[] = [];
  readonly messages: { type: number; message: string }[] = [];
  folders: FolderStatus[] = [];

  constructor(readonly root: string, env: NodeJS.ProcessEnv = {}) {
    assert.ok(ZNT && existsSync(ZNT), `ZNT must name the built znt binary (got "${ZNT}"); scripts/test sets it`);
    this.process = spawn(ZNT, ["--index-dir", join(root, "..", `${root.split("/").pop()}-index`), "serve"], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, RUST_LOG: "warn", ...env },
    });
    this.connection = createMessageConnection(
      new StreamMessageReader(this.process.stdout!),
      new StreamMessageWriter(this.process.stdin!),
    );
    this.connection.onRequest("window/workDoneProgress/create", ({ token }: { token: string }) => {
      this.begun.push(String(token));
      this.connection.onProgress(new ProgressType<ProgressValue>(), token, (value) => {
        this.progress.apply(token, value);
        this.texts.push(statusView("running", this.folders, this.progress).text);
      });
      return null;
    });
    this.connection.onNotification("window/showMessage", (params: { type: number; message: string }) => this.messages.push(params));
    this.connection.onNotification("window/logMessage", () => undefined);
    this.connection.onRequest("client/registerCapability", () => null);
    this.connection.listen();
  }

  async initialize(settings: Record<string, unknown>): Promise<void> {
    const uri = pathToFileURL(this.root).toString();
    await this.connection.sendRequest("initialize", {
      processId: process.pid,
      rootUri: uri,
      workspaceFolders: [{ uri, name: "ws" }],
      capabilities: { window: { workDoneProgress: true }, workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } },
      initializationOptions: serverLayer((name) => settings[name]),
    });
    await this.connection.sendNotification("initialized", {});
  }

  async status(): Promise<FolderStatus[]> {
    this.folders = await this.connection.sendRequest<FolderStatus[]>("zenith/status");
    return this.folders;
  }

  async until(what: string, done: (folders: FolderStatus[]) => boolean, seconds = 120): Promise<FolderStatus[]> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      const folders = await this.status();
      if (folders.length > 0 && done(folders)) return folders;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.folders)}`);
  }

  async close(): Promise<void> {
    try {
      await this.connection.sendRequest("shutdown");
      await this.connection.sendNotification("exit");
    } catch {
      // already gone
    }
    this.connection.dispose();
    this.process.kill();
  }
}

const settled = (folders: FolderStatus[]) =>
  folders.every((f) => f.ready && f.symbols > 0 && !f.indexing && f.embedded === f.symbols);

describe("the extension's requests against the real znt serve", () => {
  let session: Session;
  before(async () => {
    session = new Session(workspace());
    await session.initialize({ "lsp.symbolLimit": 100, "index.maxFileBytes": 262144 });
  });
  after(() => session.close());

  test("settings are accepted, progress drives the status bar, and the index settles healthy", async () => {
    const [folder] = await session.until("the index to be embedded", settled);
    assert.deepEqual(session.messages, [], "the settings layer must be accepted without a message");
    assert.equal(folder.health, "ok");
    assert.equal(folder.embedderLoaded, true, "scripts/test runs `znt setup`, so the model is present");
    assert.ok(session.begun.length >= 1, "the server must create a progress token");
    assert.ok(session.texts.some((t) => t.startsWith("$(sync~spin) Zenith")), JSON.stringify(session.texts));
    // The end of the progress arrives with (or just after) the last commit.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(session.progress.active, []);
    assert.equal(statusView("running", await session.status(), session.progress).text, `$(database) Zenith ${folder.symbols}`);
  });

  test("Go to Symbol shows the server's ranking in its order", async () => {
    await session.until("the index", settled);
    const symbols = await session.connection.sendRequest<WorkspaceSymbol[]>("workspace/symbol", { query: "ibfo" });
    const items = symbolItems(symbols, [pathToFileURL(session.root).toString()]);
    assert.ok(items.length >= 1);
    assert.deepEqual(items.map((i) => i.label.replace(/^\$\([^)]+\) /, "")), symbols.map((s) => s.name));
    assert.equal(items[0].label, "$(symbol-function) initBookForOfficial");
    assert.equal(items[0].detail, "src/books.js:2");
  });

  test("Search Code sends the picker's params and shows signature and doc", async () => {
    await session.until("the index", settled);
    const results = await session.connection.sendRequest<SearchResult[]>(
      "zenith/search",
      searchParams("make a new account for someone", { mode: "semantic", language: "python" }, 3),
    );
    const [first] = searchItems(results, [pathToFileURL(session.root).toString()]);
    assert.equal(first.label, "$(symbol-method) accounts.UserService.create_user");
    assert.equal(first.detail, "def create_user(self, name, email)  —  Create a new user account and store it.");
    assert.ok(results.every((r) => r.language === "python"));
  });

  test("a reindex shows progress again, and a live settings change is accepted", async () => {
    await session.until("the index", settled);
    const before = session.begun.length;
    await session.connection.sendRequest("zenith/reindex");
    const deadline = Date.now() + 20_000;
    while (session.begun.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(session.begun.length > before, "a reindex must begin a new progress");
    await session.connection.sendNotification("workspace/didChangeConfiguration", {
      settings: serverLayer((name) => ({ "lsp.symbolLimit": 1 } as Record<string, unknown>)[name]),
    });
    await session.until("the reindex to settle", settled);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const symbols = await session.connection.sendRequest<WorkspaceSymbol[]>("workspace/symbol", { query: "b" });
    assert.equal(symbols.length, 1, "lsp.symbolLimit = 1 applies at once");
    assert.deepEqual(session.messages, []);
  });
});

describe("a server without the embedding model", () => {
  test("says so once, falls back to full text for hybrid, and reports a degraded health", async () => {
    const session = new Session(workspace(), { ZENITH_MODEL_DIR: "/nonexistent/zenith-model" });
    try {
      await session.initialize({});
      const [folder] = await session.until("names", (f) => f.every((x) => x.ready && x.symbols > 0 && !x.indexing));
      assert.equal(folder.health, "degraded");
      assert.match(folder.healthMessage ?? "", /embedding model/);
      const deadline = Date.now() + 10_000;
      while (session.messages.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(session.messages.length, 1, JSON.stringify(session.messages));
      assert.match(session.messages[0].message, /fulltext/);
      const view = statusView("running", await session.status(), new ProgressTracker());
      assert.equal(view.severity, "warning");
      // The full-text index is built by the maintenance that follows the first commit.
      let results: SearchResult[] = [];
      const searchDeadline = Date.now() + 20_000;
      while (results.length === 0 && Date.now() < searchDeadline) {
        results = await session.connection
          .sendRequest<SearchResult[]>("zenith/search", searchParams("BookIndex", { mode: "hybrid" }, 5))
          .catch(() => []);
        if (results.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(results[0]?.name, "BookIndex");
      await assert.rejects(
        session.connection.sendRequest("zenith/search", searchParams("books", { mode: "semantic" }, 5)),
        /embedding model/,
      );
    } finally {
      await session.close();
    }
  });
});
