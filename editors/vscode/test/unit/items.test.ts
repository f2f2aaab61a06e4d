import assert from "node:assert/strict";
import { test } from "node:test";

import { displayPath, iconFor, searchItems, searchParams, searchTitle, symbolItems, teamPath } from "../../src/items";

const range = (line: number) => ({ start: { line, character: 4 }, end: { line, character: 9 } });

test("workspace symbols keep the server's order and show icon, container and relative path", () => {
  const items = symbolItems(
    [
      { name: "initBookForOfficial", kind: 12, containerName: "books", location: { uri: "file:///ws/src/books.js", range: range(9) } },
      { name: "Book", kind: 5, location: { uri: "file:///ws/src/model.js", range: range(0) } },
      { name: "elsewhere", kind: 13, location: { uri: "file:///other/x.py", range: range(2) } },
    ],
    ["file:///ws"],
  );
  assert.deepEqual(items.map((i) => i.label), ["$(symbol-function) initBookForOfficial", "$(symbol-class) Book", "$(symbol-variable) elsewhere"]);
  assert.equal(items[0].description, "books");
  assert.equal(items[0].detail, "src/books.js:10");
  assert.equal(items[1].description, "");
  assert.equal(items[2].detail, "/other/x.py:3");
  assert.deepEqual(items[0].location.range.start, { line: 9, character: 4 });
});

test("a symbol without a range is left out rather than opened at the top of its file", () => {
  assert.deepEqual(symbolItems([{ name: "x", kind: 12, location: { uri: "file:///ws/a.rs" } }], ["file:///ws"]), []);
});

test("the deepest workspace folder names the path; percent-escapes are decoded", () => {
  assert.equal(displayPath("file:///ws/sub/a%20b.rs", ["file:///ws", "file:///ws/sub"]), "a b.rs");
  assert.equal(displayPath("file:///wsx/a.rs", ["file:///ws"]), "/wsx/a.rs");
});

test("search results show the qualified name, the location, the signature and the doc's first line", () => {
  const [item, bare] = searchItems(
    [
      {
        name: "create_user", qualifiedName: "accounts.UserService.create_user", kind: "method", language: "python",
        location: { uri: "file:///ws/accounts.py", range: range(1) }, signature: "def create_user(self, name)",
        doc: "\n  Create a new user account.\nMore text.", score: 0.7,
      },
      {
        name: "f", qualifiedName: "m::f", kind: "weird", language: "rust",
        location: { uri: "file:///ws/m.rs", range: range(0) }, signature: "fn f()", doc: null, score: 0.1,
      },
    ],
    ["file:///ws"],
  );
  assert.equal(item.label, "$(symbol-method) accounts.UserService.create_user");
  assert.equal(item.description, "accounts.py:2");
  assert.equal(item.detail, "def create_user(self, name)  —  Create a new user account.");
  assert.equal(bare.detail, "fn f()");
  assert.equal(bare.label, "$(symbol-misc) m::f");
  assert.equal(iconFor("trait"), "symbol-interface");
});

test("search params carry only the filters in force", () => {
  assert.deepEqual(searchParams("q", { mode: "hybrid" }, 30), { query: "q", mode: "hybrid", limit: 30 });
  assert.deepEqual(searchParams("q", { mode: "fulltext", language: "rust", kind: "struct", pathPrefix: "src/" }, 5), {
    query: "q", mode: "fulltext", limit: 5, language: "rust", kind: "struct", pathPrefix: "src/",
  });
  assert.equal(searchTitle({ mode: "semantic", language: "go" }), "Zenith: Search Code (semantic) · language go");
});

test("team hits name their repository and are not taken for workspace files", () => {
  const [hit] = searchItems(
    [
      {
        name: "retry", qualifiedName: "net::retry", kind: "function", language: "rust",
        location: { uri: "zenith-team:///example.test/team/lib/src/net.rs", range: range(3) },
        signature: "pub fn retry()", score: 0.02, repo: "example.test/team/lib",
      },
    ],
    ["file:///ws"],
  );
  assert.equal(hit.description, "[example.test/team/lib] src/net.rs:4");
  assert.equal(hit.repo, "example.test/team/lib");
  assert.equal(teamPath("zenith-team:///a/b/c%20d.rs", "a/b"), "c d.rs");
});

test("the scope is sent unless it is the default, and shown in the title", () => {
  assert.deepEqual(searchParams("q", { mode: "hybrid", scope: "private" }, 30), { query: "q", mode: "hybrid", limit: 30 });
  assert.deepEqual(searchParams("q", { mode: "hybrid", scope: "all" }, 30), { query: "q", mode: "hybrid", limit: 30, scope: "all" });
  assert.equal(searchTitle({ mode: "fulltext", scope: "team" }), "Zenith: Search Code (fulltext) · team remote");
  assert.equal(searchTitle({ mode: "hybrid", scope: "deps" }), "Zenith: Search Code (hybrid) · dependencies");
});

test("a dependency hit shows its package and version beside the file", () => {
  const root = "file:///home/me/.cargo/registry/src/index/serde_json-1.0.140";
  const [item] = searchItems(
    [{
      name: "from_str", qualifiedName: "de::from_str", kind: "function", language: "rust",
      location: { uri: `${root}/src/de.rs`, range: { start: { line: 2708, character: 0 }, end: { line: 2720, character: 1 } } },
      signature: "pub fn from_str<'a, T>(s: &'a str) -> Result<T>", doc: "Deserialize an instance of type `T` from a string of JSON text.",
      score: 0.02, package: { ecosystem: "cargo", name: "serde_json", version: "1.0.140" },
    }],
    ["file:///work/app"],
  );
  assert.equal(item.description, `[serde_json 1.0.140] /home/me/.cargo/registry/src/index/serde_json-1.0.140/src/de.rs:2709`);
  assert.equal(item.repo, undefined, "a dependency's file is on disk: it opens");
});
