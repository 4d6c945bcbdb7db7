"""`--fake` of `postmark-gateway` and `postmark-mcp`: the demo account of an in-process fake
Postmark instead of the real one. The fake (`postmark_client.testing`) loads only when the option
is given, so a command runs without it otherwise.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._meta import Token
    from .testing import FakePostmark

__all__ = ["add_fake_option", "demo_fake"]


def add_fake_option(parser: argparse.ArgumentParser, does: str) -> None:
    """Add `--fake`; `does` says what the command does with the fake ("forward to")."""
    parser.add_argument(
        "--fake",
        action="store_true",
        help=f"{does} an in-process fake Postmark (no account, no token needed)",
    )


def demo_fake() -> tuple[FakePostmark, dict[Token, str | None]]:
    """What `--fake` runs on: `FakePostmark(seed="demo")`, and its tokens by kind."""
    from .testing import FakePostmark

    fake = FakePostmark(seed="demo")
    return fake, {"server": fake.server_token, "account": fake.account_token}
