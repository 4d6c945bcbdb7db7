"""generated/CHANGELOG.md comes from the spec's release notes, newest first; the package version
follows info.version."""

from __future__ import annotations

import tomllib
from pathlib import Path

from diff_support import Doc, mini, mutated, write

from generator.build import build_api
from generator.loader import load_spec
from generator.model import Api
from generator.render import OUTPUTS, environment, render_output


def bulk_release(doc: Doc) -> None:
    doc["info"]["version"] = "2026.03.05"
    doc["x-postmark-release-notes"].append(
        {
            "date": "2026-03-05",
            "title": "Bulk API",
            "changes": [
                "POST /email/bulk accepts up to a very large number of messages in one request."
            ],
            "operations": ["list_sender_signatures"],
        }
    )


def api_of(doc: Doc, tmp_path: Path) -> Api:
    return build_api(load_spec(write(doc, tmp_path / "spec" / "postmark.yaml")))


def rendered(api: Api, path: str) -> str:
    output = next(o for o in OUTPUTS if o.path == path)
    return render_output(environment(), api, output).decode("utf-8")


def test_release_notes_newest_first_with_dates_titles_and_changes(tmp_path: Path) -> None:
    text = rendered(api_of(mutated(bulk_release), tmp_path), "CHANGELOG.md")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 2026-03-05: Bulk API",
        "## 2025-06: Postmark Labs MCP server",
        "## 2019-11: Modular Webhooks API",
    ]
    bulk = text.split("## 2026-03-05: Bulk API")[1].split("## 2025-06")[0]
    assert (
        "- POST /email/bulk accepts up to a very large number of messages in one request." in bulk
    )
    assert "- `sender_signatures.list` (`GET /senders`, account token)" in bulk
    assert "- A dedicated /webhooks endpoint manages event subscriptions." in text
    assert (
        "Version 2026.3.5 of `postmark-client`: the Postmark API (test fixture) as of 2026.03.05."
        in text
    )
    assert text.startswith("# Changelog\n") and text.endswith("\n") and not text.endswith("\n\n")


def test_package_version_follows_info_version(tmp_path: Path) -> None:
    before = tomllib.loads(rendered(api_of(mini(), tmp_path / "a"), "pyproject.toml"))
    after = tomllib.loads(rendered(api_of(mutated(bulk_release), tmp_path / "b"), "pyproject.toml"))
    assert before["project"]["version"] == "2025.6"
    assert after["project"]["version"] == "2026.3.5"
