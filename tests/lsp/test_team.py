"""`znt serve`'s team requests against a real S3-compatible server (moto) on loopback:
`zenith/team/push` (dry run, then for real, with `$/progress`), `zenith/team/status`, and
`zenith/search` with scope `all` finding a teammate's repository."""
import asyncio
import os
import subprocess

import boto3
import pytest
from lsprotocol import types
from moto.server import ThreadedMotoServer
from pytest_lsp import client_capabilities, make_test_lsp_client

from conftest import make_workspace, znt_binary
from test_lsp import as_dict, wait_ready

BUCKET = "zenith-lsp"


@pytest.fixture
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def git(repo, *args):
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=Zenith Test", "-c", "user.email=test@zenith.invalid",
         "-c", "init.defaultBranch=main", *args],
        check=True, capture_output=True,
    )


def commit_repository(repo, origin):
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", f"https://{origin}.git")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")


@pytest.mark.asyncio
async def test_team_push_status_and_federated_search_through_the_server(tmp_path, s3_endpoint):
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=s3_endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing", AWS_ALLOW_HTTP="true",
        ZENITH_TEAM_REMOTE=f"s3://{BUCKET}/team", XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    env.pop("ZENITH_INDEX_DIR", None)
    workspace = make_workspace(tmp_path / "ws")
    commit_repository(workspace, "example.test/team/ws")
    # A teammate's library, pushed with the command line.
    lib = tmp_path / "lib"
    (lib / "src").mkdir(parents=True)
    (lib / "src/retry.rs").write_text("/// Retries a request with exponential backoff.\npub fn retry_with_backoff() {}\n")
    commit_repository(lib, "example.test/team/lib")
    for args in (["index", "--no-embed", str(lib)], ["--workspace", str(lib), "team", "push"]):
        subprocess.run([znt_binary(), "--index-dir", str(tmp_path / "lib-index"), *args], env=env, check=True,
                       capture_output=True)

    client = make_test_lsp_client()
    await client.start_io(znt_binary(), "--index-dir", str(tmp_path / "index"), "serve", env=env)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            )
        )
        await wait_ready(client, embedded=False)
        planned = as_dict(await client.protocol.send_request_async("zenith/team/push", {"dryRun": True}))
        assert planned[0]["error"] is None, planned
        assert sorted(f["path"] for f in planned[0]["plan"]["send"]) == sorted(
            ["src/books.js", "pool/executor.py", "accounts/service.py", "src/config.rs", "src/emoji.rs"]
        )
        pushed = as_dict(await client.protocol.send_request_async("zenith/team/push", {}))
        assert pushed[0]["error"] is None and pushed[0]["report"]["files_sent"] == 5, pushed
        tokens = [token for token in client.progress_reports if str(token).startswith("zenith/team/push/")]
        assert len(tokens) == 2, client.progress_reports.keys()
        assert isinstance(client.progress_reports[tokens[-1]][0], types.WorkDoneProgressBegin)
        # The end notification and the response travel separately: wait for the end a moment.
        deadline = asyncio.get_running_loop().time() + 5
        while not isinstance(client.progress_reports[tokens[-1]][-1], types.WorkDoneProgressEnd):
            assert asyncio.get_running_loop().time() < deadline, client.progress_reports[tokens[-1]]
            await asyncio.sleep(0.05)

        status = as_dict(await client.protocol.send_request_async("zenith/team/status", {}))
        team = status[0]["status"]
        assert team["reachable"] and team["repo"] == "example.test/team/ws", status
        assert team["refs"][0]["git_ref"] == "main" and team["refs"][0]["files"] == 5, team
        assert sorted(team["repositories"]) == ["example.test/team/lib", "example.test/team/ws"]

        query = {"query": "exponential backoff", "mode": "fulltext"}
        hits = as_dict(await client.protocol.send_request_async("zenith/search", {**query, "scope": "all"}))
        assert hits and hits[0]["name"] == "retry_with_backoff", hits
        assert hits[0]["repo"] == "example.test/team/lib"
        assert hits[0]["location"]["uri"].startswith("zenith-team:"), hits[0]
        assert not as_dict(await client.protocol.send_request_async("zenith/search", query)), "private scope"
        # The folder's own repository comes from the working tree, never twice.
        own = as_dict(await client.protocol.send_request_async(
            "zenith/search", {"query": "ThreadPoolExecutor", "mode": "fulltext", "scope": "all"}))
        assert [h["name"] for h in own].count("ThreadPoolExecutor") == 1, own
        assert own[0]["location"]["uri"].startswith("file:"), own[0]

        # Workspace symbols with the team's names (held in memory, loaded in the background).
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"lsp": {"symbol_scope": "all"}})
        )
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="retrywb")) or []
            team_symbols = [s for s in found if s.name == "retry_with_backoff"]
            if team_symbols or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.3)
        assert team_symbols, [s.name for s in found]
        assert team_symbols[0].container_name.startswith("[example.test/team/lib]"), team_symbols[0]
        assert team_symbols[0].location.uri.startswith("zenith-team:")
        # The workspace's own names still come first for their own queries.
        found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="ThreadPoolExecutor"))
        assert found[0].location.uri.startswith("file:"), found[0]
    finally:
        await client.shutdown_session()
