"""`znt mcp` driven by the official Python MCP SDK (a real MCP client over stdio).

The workspace is real code: a copy of Zenith's own sources. The binary is `$ZNT` (scripts/test
exports it), built by cargo beforehand; the model and the lance extension come from `znt setup`.
"""
import asyncio
import contextlib
import os
import pathlib
import re
import shutil
import time

import pytest
from lsprotocol import types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from pytest_lsp import client_capabilities, make_test_lsp_client

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = {"search_symbols", "search_code", "get_symbol", "file_outline", "index_status"}


def znt_binary() -> str:
    path = os.environ.get("ZNT") or shutil.which("znt")
    if not path or not os.path.exists(path):
        pytest.fail("set ZNT to the built znt binary (scripts/test does)")
    return path


def real_workspace(root: pathlib.Path) -> pathlib.Path:
    """Zenith's own Rust sources, copied: a workspace whose answers we can check."""
    shutil.copytree(ROOT / "src", root / "src")
    shutil.copytree(ROOT / "crates" / "zenith-syntax" / "src", root / "crates" / "zenith-syntax" / "src")
    (root / ".git").mkdir()
    return root


@contextlib.asynccontextmanager
async def mcp_session(workspace: pathlib.Path, index: pathlib.Path, *extra: str):
    params = StdioServerParameters(
        command=znt_binary(),
        args=["--index-dir", str(index), "--workspace", str(workspace), "mcp", *extra],
        env={**os.environ, "RUST_LOG": "warn"},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def call(session, tool, arguments):
    result = await session.call_tool(tool, arguments)
    text = "".join(c.text for c in result.content if getattr(c, "text", None) is not None)
    return bool(result.is_error), text


async def wait_status(session, predicate, timeout=120):
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        is_error, text = await call(session, "index_status", {})
        assert not is_error, text
        if predicate(text):
            return text
        await asyncio.sleep(0.2)
    raise AssertionError(f"index_status never matched: {text}")


def counts(status: str):
    match = re.search(r"symbols: (\d+) \((\d+) embedded", status)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def fully_embedded(status: str) -> bool:
    symbols, embedded = counts(status)
    return symbols > 0 and embedded == symbols


@pytest.mark.asyncio
async def test_tools_are_listed_with_their_arguments(tmp_path):
    workspace = real_workspace(tmp_path / "ws")
    async with mcp_session(workspace, tmp_path / "index") as session:
        listed = (await session.list_tools()).tools
        assert {tool.name for tool in listed} == TOOLS
        for tool in listed:
            assert len(tool.description) > 60, tool
            schema = tool.input_schema
            assert schema["type"] == "object"
            main = {"search_symbols": "query", "search_code": "query", "get_symbol": "symbol", "file_outline": "path"}
            if tool.name in main:
                assert schema["required"] == [main[tool.name]], schema
                assert schema["properties"][main[tool.name]]["type"] == "string"


@pytest.mark.asyncio
async def test_each_tool_answers_on_a_real_workspace(tmp_path):
    workspace = real_workspace(tmp_path / "ws")
    async with mcp_session(workspace, tmp_path / "index") as session:
        status = await wait_status(session, fully_embedded)
        assert "role: writer" in status, status
        files = int(re.search(r"files: (\d+)", status).group(1))
        sources = len(list(workspace.rglob("*.rs")))
        assert sources * 0.8 <= files <= sources, status

        # Names: the editor's ranking, located, with signature and doc line.
        is_error, text = await call(session, "search_symbols", {"query": "reconcile_paths"})
        assert not is_error, text
        first = text.splitlines()[1]
        assert first.startswith("src/daemon.rs:") and "daemon::reconcile_paths" in first, text
        assert "pub async fn reconcile_paths(" in text.splitlines()[2], text
        line = int(first.split(":")[1].split()[0])
        source = (workspace / "src/daemon.rs").read_text().splitlines()
        assert "fn reconcile_paths(" in source[line - 1] or "fn reconcile_paths(" in "\n".join(source[line - 1 : line + 3])
        symbol_id = re.search(r"#([0-9a-f]{12})", first).group(1)
        # Scope "all" is every tier there is: with no dependency indexed it is the workspace's.
        for tool in ("search_symbols", "search_code"):
            is_error, text = await call(session, tool, {"query": "reconcile_paths", "scope": "all"})
            assert not is_error and "daemon::reconcile_paths" in text, text
        is_error, text = await call(session, "search_symbols", {"query": "reconcile_paths", "scope": "deps"})
        assert is_error and "znt deps index" in text, text

        # Filters apply to names too.
        is_error, text = await call(session, "search_symbols", {"query": "Store", "kind": "struct", "limit": 5})
        assert not is_error, text
        rows = [l for l in text.splitlines()[1:] if re.match(r"^\S+:\d+  ", l)]
        assert rows and all("  struct  " in l for l in rows), text

        # One symbol in full, by its id and by path:line, with its source read from disk.
        is_error, text = await call(session, "get_symbol", {"symbol": "#" + symbol_id})
        assert not is_error, text
        assert text.startswith("function daemon::reconcile_paths"), text
        assert "signature: pub async fn reconcile_paths(" in text, text
        assert "```\npub async fn reconcile_paths(" in text, text
        assert "changed since" not in text
        is_error, by_line = await call(session, "get_symbol", {"symbol": f"src/daemon.rs:{line + 1}"})
        assert not is_error and by_line.startswith("function daemon::reconcile_paths"), by_line
        is_error, by_name = await call(session, "get_symbol", {"symbol": "daemon::reconcile_paths"})
        assert not is_error and by_name.splitlines()[0] == text.splitlines()[0], by_name
        # A struct lists its children (fields / methods live under it).
        is_error, text = await call(session, "get_symbol", {"symbol": "daemon::IndexOptions", "max_lines": 0})
        assert not is_error, text
        assert "children (" in text and "files_per_commit" in text and "```" not in text, text

        # The outline: every symbol of the file, in source order.
        is_error, text = await call(session, "file_outline", {"path": "src/daemon.rs"})
        assert not is_error, text
        numbers = [int(m.group(1)) for m in re.finditer(r"^\s*(\d+)  ", text, re.M)]
        assert numbers == sorted(numbers) and len(numbers) > 20, text
        assert any("pub struct IndexOptions" in l for l in text.splitlines()), text

        # Meaning: hybrid by default, full-text on request, filters honoured.
        is_error, text = await call(session, "search_code", {"query": "exclusive lock so two writers never share an index"})
        assert not is_error, text
        rows = [l for l in text.splitlines() if re.match(r"^\S+:\d+  ", l)]
        assert any("daemon::IndexLock" in l for l in rows[:5]), text
        is_error, text = await call(
            session, "search_code", {"query": "writer lock", "mode": "fulltext", "path": "src/daemon", "limit": 3}
        )
        assert not is_error, text
        rows = [l for l in text.splitlines() if re.match(r"^\S+:\d+  ", l)]
        assert 0 < len(rows) <= 3 and all(l.startswith("src/daemon") for l in rows), text


@pytest.mark.asyncio
async def test_bad_input_gets_one_line_tool_errors(tmp_path):
    workspace = real_workspace(tmp_path / "ws")
    outside = tmp_path / "secret.txt"
    outside.write_text("pub fn outside() {}\n")
    (workspace / "src" / "escape.rs").symlink_to(outside)
    async with mcp_session(workspace, tmp_path / "index", "--no-embed") as session:
        await wait_status(session, lambda s: counts(s)[0] > 0)
        cases = [
            ("no_such_tool", {}, "unknown tool"),
            ("search_symbols", {"query": 5}, "invalid type"),
            ("search_symbols", {}, "missing field `query`"),
            ("search_symbols", {"query": "x", "colour": "red"}, "unknown field"),
            ("search_symbols", {"query": "   "}, "query is empty"),
            ("search_code", {"query": "x" * 5000}, "too long"),
            ("search_code", {"query": "x", "mode": "sideways"}, "unknown variant"),
            ("search_code", {"query": "read a file", "mode": "semantic"}, "embedding model"),
            ("file_outline", {"path": "../secret.txt"}, "outside the workspace"),
            ("file_outline", {"path": "/etc/passwd"}, "outside the workspace"),
            ("file_outline", {"path": "src/nothing_here.rs"}, "not a file of the workspace"),
            ("get_symbol", {"symbol": "/etc/passwd:1"}, "outside the workspace"),
            ("get_symbol", {"symbol": "#0123456789ab"}, "no symbol with id"),
            ("get_symbol", {"symbol": "no::such::thing"}, "no symbol"),
            ("get_symbol", {"symbol": ""}, "symbol is empty"),
            ("search_symbols", {"query": "x", "path": "../../etc"}, "outside the workspace"),
        ]
        for tool, arguments, expected in cases:
            is_error, text = await call(session, tool, arguments)
            assert is_error, (tool, arguments, text)
            assert expected in text, (tool, arguments, text)
            assert "\n" not in text.strip(), (tool, arguments, text)
        # The symlink pointing out of the workspace is never followed (not indexed, not read).
        is_error, text = await call(session, "search_symbols", {"query": "outside"})
        assert "escape.rs" not in text, text
        # Hybrid without a model says it fell back to words, rather than failing.
        is_error, text = await call(session, "search_code", {"query": "writer lock"})
        assert not is_error and "words only" in text, text
        # And the server still answers.
        is_error, text = await call(session, "index_status", {})
        assert not is_error and "semantic search: off" in text, text
        # The health every client shows, with its reason.
        assert "health: degraded (" in text or "health: ok" in text, text


async def start_lsp(workspace: pathlib.Path, index: pathlib.Path):
    client = make_test_lsp_client()
    await client.start_io(znt_binary(), "--index-dir", str(index), "serve")
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
        )
    )
    # The editor's server must hold the writer lock before the MCP server starts.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = await client.protocol.send_request_async("zenith/status", None)
        folders = [plain(folder) for folder in status or []]
        if folders and all(f["ready"] and not f["readOnly"] and f["symbols"] > 0 for f in folders):
            return client
        await asyncio.sleep(0.1)
    raise AssertionError(f"the language server never became the writer: {folders}")


def plain(value):
    """pygls returns custom results as attribute objects; read them as plain data."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


async def wait_found(session, query, expected, timeout):
    started = time.monotonic()
    text = ""
    while time.monotonic() - started < timeout:
        _, text = await call(session, "search_symbols", {"query": query})
        if expected in text:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"`{expected}` not found within {timeout} s: {text}")


@pytest.mark.asyncio
async def test_a_follower_sees_the_editors_commits_and_takes_over_when_it_exits(tmp_path):
    workspace = real_workspace(tmp_path / "ws")
    index = tmp_path / "index"
    lsp = await start_lsp(workspace, index)
    lsp_running = True
    try:
        async with mcp_session(workspace, index, "--no-embed") as session:
            await wait_status(session, lambda s: "role: follower" in s and counts(s)[0] > 0)
            _, text = await call(session, "search_symbols", {"query": "brand_new_function"})
            assert "src/added.rs" not in text, text
            # The editor's server writes the change; the follower answers with it within 2 s.
            (workspace / "src" / "added.rs").write_text("/// Added while following.\npub fn brand_new_function() {}\n")
            elapsed = await wait_found(session, "brand_new_function", "src/added.rs:2", timeout=2.0)
            print(f"follower saw the editor's commit after {elapsed:.2f} s")
            is_error, text = await call(session, "get_symbol", {"symbol": "brand_new_function"})
            assert not is_error and "Added while following." in text, text

            # The editor exits: the follower takes the lock and keeps the index fresh itself.
            await lsp.shutdown_session()
            lsp_running = False
            await wait_status(session, lambda s: "role: writer" in s, timeout=30)
            (workspace / "src" / "later.rs").write_text("pub fn written_after_handover() {}\n")
            await wait_found(session, "written_after_handover", "src/later.rs:1", timeout=10.0)
    finally:
        if lsp_running:
            await lsp.shutdown_session()
