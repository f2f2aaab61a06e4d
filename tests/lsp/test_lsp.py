"""`znt serve` driven by pytest-lsp's client (pygls): a real LSP client over stdio."""
import asyncio
import json
import os
import pathlib
import subprocess
import time

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities, make_test_lsp_client

from conftest import make_workspace, znt_binary


def as_dict(value):
    """pygls returns custom results as attribute objects; compare them as plain data."""
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return [as_dict(v) for v in value]
    if hasattr(value, "_asdict"):
        return {k: as_dict(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: as_dict(v) for k, v in value.items()}
    return value


async def start(tmp_path, utf8=False):
    workspace = make_workspace(tmp_path / "ws")
    client = make_test_lsp_client()
    await client.start_io(znt_binary(), "--index-dir", str(tmp_path / "index"), "serve")
    capabilities = client_capabilities("visual-studio-code")
    capabilities.general = types.GeneralClientCapabilities(
        position_encodings=[types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf16]
        if utf8
        else [types.PositionEncodingKind.Utf16]
    )
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
        )
    )
    return client, workspace, result


async def wait_ready(client, embedded=True, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = as_dict(await client.protocol.send_request_async("zenith/status", None))
        if status and all(s["ready"] and s["symbols"] > 0 for s in status):
            if not embedded or all(s["embedded"] == s["symbols"] for s in status):
                return status
        await asyncio.sleep(0.2)
    raise AssertionError(f"the index did not become ready: {status}")


async def symbols(client, query):
    result = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=query))
    return result or []


@pytest.mark.asyncio
async def test_workspace_symbol_ranks_initialisms_and_reports_progress(tmp_path):
    client, workspace, result = await start(tmp_path)
    try:
        assert result.capabilities.workspace_symbol_provider
        await wait_ready(client)
        found = await symbols(client, "ibfo")
        assert found[0].name == "initBookForOfficial"
        found = await symbols(client, "TPE")
        assert found[0].name == "ThreadPoolExecutor"
        found = await symbols(client, "create_user")
        assert found[0].name == "create_user"
        assert found[0].container_name.endswith("UserService")
        assert found[0].location.uri == (workspace / "accounts/service.py").as_uri()
        assert len(await symbols(client, "")) >= 8, "an empty query lists symbols"
        # Progress: created with window/workDoneProgress/create, then begin … end.
        reports = [r for token_reports in client.progress_reports.values() for r in token_reports]
        assert isinstance(reports[0], types.WorkDoneProgressBegin)
        assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
async def test_positions_follow_the_negotiated_encoding(tmp_path):
    client, _, result = await start(tmp_path / "utf16")
    try:
        assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf16
        await wait_ready(client, embedded=False)
        found = await symbols(client, "after_emoji")
        # "/* " + 😀 (2 UTF-16 units) + " */ " = 9 code units.
        assert found[0].location.range.start.character == 9
    finally:
        await client.shutdown_session()
    client, _, result = await start(tmp_path / "utf8", utf8=True)
    try:
        assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
        await wait_ready(client, embedded=False)
        found = await symbols(client, "after_emoji")
        assert found[0].location.range.start.character == 11  # 3 + 4 bytes + 4
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
async def test_zenith_search_semantic_fulltext_and_filters(tmp_path):
    client, workspace, _ = await start(tmp_path)
    try:
        await wait_ready(client)
        results = as_dict(
            await client.protocol.send_request_async(
                "zenith/search", {"query": "make a new account for someone", "mode": "semantic", "limit": 3}
            )
        )
        assert results[0]["name"] == "create_user", results
        assert results[0]["location"]["uri"] == (workspace / "accounts/service.py").as_uri()
        assert "welcome email" in results[0]["doc"]
        results = as_dict(
            await client.protocol.send_request_async("zenith/search", {"query": "toml configuration", "mode": "fulltext"})
        )
        assert results[0]["name"] == "parse_config"
        results = as_dict(
            await client.protocol.send_request_async(
                "zenith/search", {"query": "worker threads", "mode": "hybrid", "language": "python", "kind": "class"}
            )
        )
        assert [r["name"] for r in results] == ["ThreadPoolExecutor"] or results[0]["name"] == "ThreadPoolExecutor"
        assert all(r["language"] == "python" and r["kind"] == "class" for r in results)
        with pytest.raises(Exception):
            await client.protocol.send_request_async("zenith/search", {"mode": "semantic"})
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
async def test_saving_a_file_updates_answers_and_cancellation_is_harmless(tmp_path):
    client, workspace, _ = await start(tmp_path)
    try:
        await wait_ready(client, embedded=False)
        (workspace / "src/fresh.rs").write_text("pub fn brand_new_function() {}\n")
        uri = (workspace / "src/fresh.rs").as_uri()
        client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = await symbols(client, "brand_new_function")
            if found and found[0].name == "brand_new_function":
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the saved symbol never became visible")
        # Cancel a request right after sending it: either answer is fine, and the server
        # must keep serving afterwards.
        future = client.protocol.send_request_async(
            "zenith/search", {"query": "user", "mode": "fulltext"}, msg_id="cancel-me"
        )
        client.protocol.notify("$/cancelRequest", types.CancelParams(id="cancel-me"))
        try:
            await future
        except Exception as error:  # the cancelled error
            assert "cancel" in str(error).lower()
        assert (await symbols(client, "Config"))[0].name == "Config"
    finally:
        await client.shutdown_session()


def frame(payload: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(payload) + payload


def read_message(stream) -> dict:
    length = None
    while True:
        line = stream.readline()
        if not line:
            raise EOFError("server closed stdout")
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def test_malformed_messages_get_errors_and_shutdown_exits_cleanly(tmp_path):
    workspace = make_workspace(tmp_path / "ws")
    server = subprocess.Popen(
        [znt_binary(), "--index-dir", str(tmp_path / "index"), "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        server.stdin.write(frame(b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {'))
        server.stdin.flush()
        error = read_message(server.stdout)
        assert error["error"]["code"] == -32700, error  # parse error, server still alive
        initialize = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "initialize",
            "params": {"processId": os.getpid(), "rootUri": workspace.as_uri(), "capabilities": {}},
        }
        server.stdin.write(frame(json.dumps(initialize).encode()))
        server.stdin.flush()
        response = read_message(server.stdout)
        assert response["id"] == 2 and "capabilities" in response["result"]
        # An unknown method is a protocol error, not a crash.
        server.stdin.write(frame(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "zenith/nope", "params": {}}).encode()))
        server.stdin.flush()
        while True:
            message = read_message(server.stdout)
            if message.get("id") == 3:
                break
        assert message["error"]["code"] == -32601
        for request in (
            {"jsonrpc": "2.0", "id": 4, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        ):
            server.stdin.write(frame(json.dumps(request).encode()))
            server.stdin.flush()
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()


def test_an_absurd_content_length_is_refused_without_allocating_it(tmp_path):
    make_workspace(tmp_path / "ws")
    # Under an address-space limit of 4 GiB, allocating the announced petabyte would abort the
    # process; refusing it answers with an error and ends the session cleanly.
    server = subprocess.Popen(
        ["prlimit", "--as=4294967296", znt_binary(), "--index-dir", str(tmp_path / "index"), "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        server.stdin.write(b"Content-Length: 1000000000000000\r\n\r\n{}")
        server.stdin.flush()
        error = read_message(server.stdout)
        assert error["error"]["code"] == -32600 and "exceeds the limit" in error["error"]["message"], error
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()


def test_the_server_exits_when_stdin_closes(tmp_path):
    make_workspace(tmp_path / "ws")
    server = subprocess.Popen(
        [znt_binary(), "--index-dir", str(tmp_path / "index"), "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server.stdin.close()
    assert server.wait(timeout=20) == 0


def real_cache() -> pathlib.Path:
    base = os.environ.get("ZENITH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "zenith"
    )
    return pathlib.Path(base)


@pytest.mark.asyncio
async def test_the_server_takes_each_folders_config_and_the_editors_settings(tmp_path):
    """The folder's .zenith.toml (not the server's working directory's), the editor's
    initializationOptions and workspace/didChangeConfiguration all take effect; a folder whose
    .zenith.toml tries to send the index away is refused with a message, the other still served."""
    workspace = make_workspace(tmp_path / "ws")
    (workspace / ".zenith.toml").write_text('[index]\nskipped_dirs = ["generated"]\n')
    (workspace / "generated").mkdir()
    (workspace / "generated/gen.rs").write_text("pub fn generated_fn() {}\n")
    (workspace / "src/big.rs").write_text("pub fn big_fn() {}\n" + "// padding\n" * 40)
    hostile = make_workspace(tmp_path / "hostile")
    (hostile / ".zenith.toml").write_text('[index]\ndir = "s3://someone-else/loot"\n')
    env = dict(os.environ)
    env["ZENITH_CACHE_DIR"] = str(tmp_path / "cache")
    env["ZENITH_LANCE_EXTENSION"] = str(real_cache() / "duckdb/v1.5.5/lance.duckdb_extension")
    client = make_test_lsp_client()
    await client.start_io(znt_binary(), "serve", cwd=str(tmp_path), env=env)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                workspace_folders=[
                    types.WorkspaceFolder(uri=workspace.as_uri(), name="ws"),
                    types.WorkspaceFolder(uri=hostile.as_uri(), name="hostile"),
                ],
                initialization_options={"index": {"max_file_bytes": 300}, "embed": {"enabled": False}},
            )
        )
        await wait_ready(client, embedded=False)
        status = as_dict(await client.protocol.send_request_async("zenith/status", None))
        assert [s["root"] for s in status] == [str(workspace.resolve())], status
        assert any("index.dir" in m.message and ".zenith.toml" in m.message for m in client.messages), client.messages
        assert (await symbols(client, "parse_config"))[0].name == "parse_config"
        assert not [s for s in await symbols(client, "generated_fn") if s.name == "generated_fn"]
        assert not [s for s in await symbols(client, "big_fn") if s.name == "big_fn"]
        # The editor raises the size limit: the big file is indexed; the folder's own
        # skipped_dirs still holds.
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"zenith": {"index": {"max_file_bytes": 100000}}})
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if [s for s in await symbols(client, "big_fn") if s.name == "big_fn"]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the changed setting never took effect")
        assert not [s for s in await symbols(client, "generated_fn") if s.name == "generated_fn"]
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
async def test_workspace_folders_added_and_removed_are_indexed_and_dropped(tmp_path):
    client, _, result = await start(tmp_path)
    try:
        assert result.capabilities.workspace.workspace_folders.change_notifications is True
        await wait_ready(client, embedded=False)
        second = tmp_path / "second"
        (second / "lib").mkdir(parents=True)
        (second / "lib" / "extra.py").write_text("def reticulate_splines(count):\n    return count\n", encoding="utf-8")
        # Its index inside the folder (a workspace file may put it there), not in the user's cache.
        (second / ".zenith.toml").write_text('[index]\ndir = ".zenith-index"\n', encoding="utf-8")
        folder = types.WorkspaceFolder(uri=second.as_uri(), name="second")
        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(event=types.WorkspaceFoldersChangeEvent(added=[folder], removed=[]))
        )
        deadline = time.monotonic() + 60
        found = []
        while time.monotonic() < deadline and not found:
            found = [s for s in await symbols(client, "reticulate_splines") if s.name == "reticulate_splines"]
            await asyncio.sleep(0.2)
        assert found and found[0].location.uri == (second / "lib" / "extra.py").as_uri()
        status = as_dict(await client.protocol.send_request_async("zenith/status", None))
        assert len(status) == 2
        assert {"health", "healthMessage", "pendingChanges", "lastErrors", "indexing", "watching"} <= set(status[0])
        assert not {"pending_changes", "last_errors", "last_commit_ms"} & set(status[0]), "one case style"

        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(event=types.WorkspaceFoldersChangeEvent(added=[], removed=[folder]))
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(as_dict(await client.protocol.send_request_async("zenith/status", None))) != 1:
            await asyncio.sleep(0.1)
        assert len(as_dict(await client.protocol.send_request_async("zenith/status", None))) == 1
        assert not [s for s in await symbols(client, "reticulate_splines") if s.name == "reticulate_splines"]
    finally:
        await client.shutdown_session()
