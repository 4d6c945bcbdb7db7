"""The values of the spec that the package's static modules read at run time.

Generated from spec/postmark.yaml: the version, the base URL (and the environment variable that
replaces it), each token's header and environment variable, the client classes, the groups and the
webhook record types. Static modules (the client core, the CLI, the fake Postmark) import these
instead of having them written into their text.
"""

from __future__ import annotations

from typing import Final

from ._meta import Token

VERSION: Final = "2026.11.30"
"""The version of this package."""
API_VERSION: Final = "2026.11.30"
"""The date of the newest Postmark release note the spec follows (Postmark has no API version)."""
DEFAULT_BASE_URL: Final = "https://api.postmarkapp.com"
"""Where requests go unless a client is given another base URL."""
BASE_URL_ENV: Final = "POSTMARK_API_URL"
"""The environment variable the commands read another base URL from."""

TOKEN_HEADERS: Final[dict[Token, str]] = {
    "server": "X-Postmark-Server-Token",
    "account": "X-Postmark-Account-Token",
}
"""The request header that carries each kind of token."""
TOKEN_ENV_VARS: Final[dict[Token, str]] = {
    "server": "POSTMARK_SERVER_TOKEN",
    "account": "POSTMARK_ACCOUNT_TOKEN",
}
"""The environment variable a client reads its token from when it is given none."""
CLIENT_CLASSES: Final[dict[Token, str]] = {
    "server": "ServerClient",
    "account": "AccountClient",
}
"""The sync client class (in `postmark_client.client`) for each kind of token."""

GROUPS: Final[dict[str, str]] = {
    "email": "Send transactional and broadcast email, one message or a batch, with or without a template. Sends real mail.",
    "templates": "Manage the templates a server sends from. A server holds at most 100 templates.",
    "bounces": "Read bounces and their raw dumps, and reactivate bounced addresses.",
    "messages": "Search sent and received mail and its opens and clicks; retry or bypass inbound messages.",
    "suppressions": "The do-not-send list of a message stream.",
    "stats": "Read-only counts of sends, bounces, opens, clicks and spam complaints. Stats never expire.",
    "servers": "Account-level management of the servers that hold sending setups, each with its own server token.",
    "domains": "Account-level management of sending domains and their DKIM and Return-Path setup.",
    "sender_signatures": "Account-level management of the verified from-addresses an account sends as.",
    "server": "The settings of the server a server token belongs to (the account token reaches every server through Servers).",
    "message_streams": "The message streams of a server, which separate transactional, broadcast and inbound mail.",
    "webhooks": "Per message stream subscriptions to Postmark's events (the Modular Webhooks API).",
    "inbound_rules": "Inbound rule triggers, which block inbound mail from chosen addresses or domains.",
    "data_removals": "Account-level erasure of a recipient's data, for GDPR and CCPA requests (enabled on request by Postmark).",
}
"""Each group (a client attribute: `email`, `bounces`) and what it covers."""

WEBHOOK_RECORD_TYPES: Final[tuple[str, ...]] = (
    "Delivery",
    "Bounce",
    "SpamComplaint",
    "Open",
    "Click",
    "SubscriptionChange",
    "Inbound",
)
"""The RecordType of every webhook event the spec knows."""
