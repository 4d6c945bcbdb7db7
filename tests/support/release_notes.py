"""The operations the spec's release notes add to the 40 of the issue.

Tests write the 40 operations out (so that none can vanish unseen) and expect, beyond them,
exactly the operations a release note names (`x-postmark-release-notes[].operations`): adding
an operation to the spec is then one spec edit with its release note, and no test edit.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from support.spec_yaml import spec_doc

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "postmark.yaml"


@cache
def _release_notes(spec_path: Path) -> tuple[dict[str, Any], ...]:
    spec = spec_doc(spec_path)
    return tuple(spec.get("x-postmark-release-notes") or [])


def added_operations(spec_path: Path = SPEC_PATH) -> list[str]:
    """The operationIds the release notes name, oldest note first, each once."""
    found: list[str] = []
    for note in _release_notes(spec_path):
        for operation_id in note.get("operations") or []:
            if operation_id not in found:
                found.append(str(operation_id))
    return found
