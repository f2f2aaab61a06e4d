"""End-to-end tests of `znt serve` with real LSP clients (pygls via pytest-lsp, and Neovim).

The binary is `$ZNT` (scripts/test exports it), built by cargo beforehand.
"""
import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def znt_binary() -> str:
    path = os.environ.get("ZNT") or shutil.which("znt")
    if not path or not os.path.exists(path):
        pytest.fail("set ZNT to the built znt binary (scripts/test does)")
    return path


WORKSPACE_FILES = {
    "src/books.js": (
        "/** Registers a book for the official catalogue. */\n"
        "export function initBookForOfficial(book) {\n  return book;\n}\n"
    ),
    "pool/executor.py": (
        "class ThreadPoolExecutor:\n"
        '    """Runs callables on a pool of worker threads."""\n\n'
        "    def submit(self, fn):\n"
        '        """Schedule fn to run and return a future."""\n'
        "        return fn\n"
    ),
    "accounts/service.py": (
        "class UserService:\n"
        "    def create_user(self, name, email):\n"
        '        """Create a new user account and send a welcome email."""\n'
        "        return name\n\n"
        "    def delete_user(self, user_id):\n"
        '        """Remove the account permanently."""\n'
        "        return user_id\n"
    ),
    "src/config.rs": (
        "/// Parses the TOML configuration file at `path`.\n"
        "pub fn parse_config(path: &str) -> Config { todo!() }\n\n"
        "/// Settings.\npub struct Config { pub name: String }\n"
    ),
    # The emoji is 4 UTF-8 bytes and 2 UTF-16 code units: positions differ by encoding.
    "src/emoji.rs": "/* 😀 */ pub fn after_emoji() {}\n",
}


def make_workspace(root: pathlib.Path) -> pathlib.Path:
    for relative, text in WORKSPACE_FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
