"""What importing and constructing a client loads: the models and the operation table wait for
the first call, and sync code never loads the async groups (nor async code the sync ones).
Each case runs in a fresh interpreter, where nothing is imported yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import postmark_client
import pytest

PACKAGE_PARENT = str(Path(postmark_client.__file__).resolve().parents[1])

SETUP = """
import json, sys
import httpx

def loaded():
    return sorted(m for m in sys.modules if m.startswith("postmark_client."))

answer = {"Bounces": [], "Domains": [], "TotalCount": 0}
transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
async_transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
steps = {}
"""

CASES = {
    "sync": """
from postmark_client import ServerClient
steps["import"] = loaded()
client = ServerClient("fake-token", transport=transport)
steps["construct"] = loaded()
client.bounces.list(count=1)
steps["call"] = loaded()
""",
    "async": """
import asyncio
from postmark_client import AsyncAccountClient
steps["import"] = loaded()
account = AsyncAccountClient("fake-account-token", transport=async_transport)
steps["construct"] = loaded()
asyncio.run(account.domains.list(count=1))
steps["call"] = loaded()
""",
}


def modules_loaded(case: str) -> dict[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([PACKAGE_PARENT, *sys.path])}
    script = SETUP + CASES[case] + "print(json.dumps(steps))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    steps: dict[str, list[str]] = json.loads(done.stdout)
    return steps


@pytest.mark.parametrize(
    ("case", "own", "other", "group", "unused"),
    [
        ("sync", "_resources", "_async_resources", "bounces", "email"),
        ("async", "_async_resources", "_resources", "domains", "servers"),
    ],
)
def test_models_load_on_the_first_call_and_only_the_groups_in_use(
    case: str, own: str, other: str, group: str, unused: str
) -> None:
    steps = modules_loaded(case)
    p = "postmark_client."
    group_modules = {f"{p}{own}._{group}", f"{p}_operations._{group}", f"{p}models._{group}"}
    assert f"{p}client" in steps["import"]
    assert group_modules.isdisjoint(steps["import"]), steps["import"]
    assert f"{p}models" not in steps["import"] and f"{p}_operations" not in steps["import"]
    # Constructing a client loads no group: each is imported when it is first used.
    assert group_modules.isdisjoint(steps["construct"]), steps["construct"]
    assert group_modules <= set(steps["call"]), steps["call"]
    # Only the group in use: not another group's resources, records or models, nor the other kind.
    for module in (f"{p}{own}._{unused}", f"{p}_operations._{unused}", f"{p}models._{unused}"):
        assert module not in steps["call"], steps["call"]
    assert not [m for m in steps["call"] if m.startswith(f"{p}{other}")], steps["call"]
