"""Offline testing for code that uses Postmark: a faithful fake Postmark, example data, model
factories and a pytest plugin.

    from postmark_client import ServerClient
    from postmark_client.testing import FakePostmark

    fake = FakePostmark()
    with ServerClient(fake.server_token, transport=fake.transport()) as client:
        sent = client.email.send(from_="me@example.com", to="you@example.com", subject="Hi", text_body="Hello")
    assert fake.messages()[0]["MessageID"] == sent.message_id

- `FakePostmark`: every operation of the spec, stateful, with Postmark's errors, faults
  (`fake.faults`) and webhooks (`fake.webhooks`, `fake.deliver_webhooks()`); in-process through
  `fake.transport()` or over HTTP with `fake.serve()` / the `postmark-fake` command.
- `examples`: the spec's example request and answer of every operation and webhook.
- `factories`: `make_<model>(**overrides)` for every model.
- `plugin`: pytest fixtures (`postmark_fake`, `postmark_server_client`, ...), loaded automatically.

Names load on first use, so the pytest plugin costs nothing until a test asks for the fake.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module (inside this package) defining it.
_EXPORTS: dict[str, str] = {
    "FakePostmark": "_fake",
    "FakeResponse": "_fake",
    "RecordedCall": "_fake",
    "fixed_clock": "_fake",
    "FakeServer": "_server",
    "Faults": "_faults",
    "Webhooks": "_webhooks",
    "WebhookDelivery": "_webhooks",
    "EXAMPLES": "examples",
    "WEBHOOK_EXAMPLES": "examples",
    "OperationExample": "examples",
    "example_request": "examples",
    "example_response": "examples",
    "example_response_model": "examples",
    "example_webhook": "examples",
    "FACTORIES": "factories",
}
_SUBMODULES = frozenset({"examples", "factories", "plugin"})

if TYPE_CHECKING:
    from . import examples, factories, plugin
    from ._fake import FakePostmark, FakeResponse, RecordedCall, fixed_clock
    from ._faults import Faults
    from ._server import FakeServer
    from ._webhooks import WebhookDelivery, Webhooks
    from .examples import (
        EXAMPLES,
        WEBHOOK_EXAMPLES,
        OperationExample,
        example_request,
        example_response,
        example_response_model,
        example_webhook,
    )
    from .factories import FACTORIES

__all__ = [
    "EXAMPLES",
    "FACTORIES",
    "WEBHOOK_EXAMPLES",
    "FakePostmark",
    "FakeResponse",
    "FakeServer",
    "Faults",
    "OperationExample",
    "RecordedCall",
    "WebhookDelivery",
    "Webhooks",
    "example_request",
    "example_response",
    "example_response_model",
    "example_webhook",
    "examples",
    "factories",
    "fixed_clock",
    "plugin",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
