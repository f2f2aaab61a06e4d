"""`znt serve` and `znt mcp` with the dependency tier: the server indexes the packages of the
workspace's lock file by itself once the workspace is caught up, then `workspace/symbol`
(with `lsp.symbol_scope = "all"`), `zenith/search` (scope `deps`) and the MCP tools (scope
`deps`, `package`) answer from them. The packages are a real virtualenv with pinned PyPI
packages, created by scripts/setup."""
import asyncio
import os
import pathlib
import sys

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities, make_test_lsp_client

from conftest import ROOT, make_workspace, znt_binary
from test_lsp import as_dict, wait_ready

VENV = ROOT / "tests/it/fixtures/deps/python/.venv"


def python_workspace(tmp_path: pathlib.Path) -> pathlib.Path:
    if not (VENV / "bin/python").exists():
        pytest.fail(f"{VENV} is missing: scripts/setup creates it")
    workspace = make_workspace(tmp_path / "ws")
    (workspace / "requirements.txt").write_text("idna==3.10\nattrs==25.3.0\n")
    (workspace / ".venv").symlink_to(VENV)
    return workspace


def environment(tmp_path: pathlib.Path) -> dict:
    env = dict(os.environ, ZENITH_DEPS_DIR=str(tmp_path / "deps"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    for name in ("ZENITH_INDEX_DIR", "ZENITH_TEAM_REMOTE", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


@pytest.mark.asyncio
async def test_the_server_indexes_dependencies_by_itself_and_searches_them(tmp_path):
    workspace = python_workspace(tmp_path)
    client = make_test_lsp_client()
    await client.start_io(znt_binary(), "--index-dir", str(tmp_path / "index"), "serve", env=environment(tmp_path))
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
                initialization_options={"lsp": {"symbol_scope": "all"}},
            )
        )
        await wait_ready(client, embedded=True)
        # The dependencies' names arrive in the background, after the workspace's.
        deadline = asyncio.get_running_loop().time() + 90
        while True:
            found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="idna::encode")) or []
            if found or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
        assert found, "the dependencies were never indexed"
        assert all(s.container_name.startswith("[idna 3.10]") for s in found), [s.container_name for s in found]
        encode = next(s for s in found if s.name == "encode")
        path = pathlib.Path(encode.location.uri.removeprefix("file://"))
        assert path.name == "core.py" and path.is_file(), encode.location.uri

        # The workspace's own names come first for their own queries.
        own = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="ThreadPoolExecutor"))
        assert own[0].location.uri.startswith(workspace.as_uri()), own[0]

        hits = as_dict(await client.protocol.send_request_async(
            "zenith/search", {"query": "encode a domain name with IDNA", "mode": "fulltext", "scope": "deps"}))
        assert hits and all(h["package"]["ecosystem"] == "pypi" for h in hits), hits
        assert any(h["package"]["name"] == "idna" and h["name"] == "encode" for h in hits), hits
        assert all(h["location"]["uri"].startswith("file://") for h in hits)
        private = as_dict(await client.protocol.send_request_async(
            "zenith/search", {"query": "encode a domain name with IDNA", "mode": "fulltext"}))
        assert all("package" not in h for h in private), private
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
async def test_mcp_tools_answer_from_the_dependencies(tmp_path):
    sys.path.insert(0, str(ROOT / "tests/mcp"))
    from test_mcp import call, mcp_session

    workspace = python_workspace(tmp_path)
    env = environment(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        znt_binary(), "--workspace", str(workspace), "deps", "index", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    os.environ.update({"ZENITH_DEPS_DIR": env["ZENITH_DEPS_DIR"]})
    try:
        async with mcp_session(workspace, tmp_path / "index") as session:
            is_error, text = await call(session, "search_symbols", {"query": "encode", "package": "idna"})
            assert not is_error, text
            assert "idna.core.encode" in text and "[idna 3.10]" in text and "def encode(" in text, text
            is_error, text = await call(session, "search_code", {
                "query": "define a class with attributes", "scope": "deps", "mode": "hybrid"})
            assert not is_error and "[attrs 25.3.0]" in text, text
            is_error, text = await call(session, "search_symbols", {"query": "encode", "package": "left-pad"})
            assert is_error and "no indexed dependency is called `left-pad`" in text, text
    finally:
        os.environ.pop("ZENITH_DEPS_DIR", None)
