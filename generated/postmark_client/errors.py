"""Every error the client raises, and Postmark's ErrorCode table.

One hierarchy so that callers can catch as broadly or as narrowly as they need:

    PostmarkError
    ├── APIError(status_code, error_code, message, request_id)   Postmark answered with an error
    │   ├── InvalidTokenError            401: missing, wrong, or wrong-type token
    │   ├── NotFoundError                404
    │   ├── UnprocessableEntityError     422: branch on `.error_code` (see ErrorCode)
    │   │   └── one named class per code the spec marks (e.g. InactiveRecipientError)
    │   ├── RateLimitError               429 (retried first; `.retry_after`)
    │   ├── ServerError                  500 and other 5xx
    │   │   └── ServiceUnavailableError  503 (retried first)
    │   └── ResponseDecodeError          the body is not what the spec says
    ├── APIConnectionError               no usable answer from Postmark
    │   ├── APITimeoutError
    │   └── OutcomeUnknownError          may have taken effect; never re-sent
    │       └── MessageMaybeSentError    ...for a send: the message may have gone out
    ├── RequestValidationError           refused before sending (also a ValueError)
    ├── MissingTokenError                no token given nor in its env var (also a ValueError)
    ├── UnreachableResultsError          a search matched more than paging can reach
    └── BatchFailedError                 messages of a batch failed

Messages never contain the API token: the client keeps request headers out of every error.
The hierarchy and its helpers are spec-independent (`_exceptions.py`); this module adds the
spec's ErrorCode table and its named classes, and is where every name is imported from.
"""

from __future__ import annotations

from typing import Final

from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    BatchFailedError,
    ErrorCodeInfo,
    InactiveRecipientsMixin,
    InvalidTokenError,
    MessageMaybeSentError,
    MissingTokenError,
    NotFoundError,
    OutcomeUnknownError,
    PostmarkError,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    UnreachableResultsError,
    class_for,
    parse_inactive_recipients,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AgentAccessDeniedError",
    "BatchFailedError",
    "ErrorCode",
    "ErrorCodeInfo",
    "ForbiddenAttachmentTypeError",
    "InactiveRecipientError",
    "InvalidEmailRequestError",
    "InvalidRequestFieldsError",
    "InvalidTokenError",
    "MessageMaybeSentError",
    "MessageStreamNotFoundError",
    "MissingTokenError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PostmarkError",
    "RateLimitError",
    "RequestValidationError",
    "ResponseDecodeError",
    "SenderSignatureNotConfirmedError",
    "SenderSignatureNotFoundError",
    "ServerError",
    "ServiceUnavailableError",
    "TemplateLimitExceededError",
    "TemplateNotFoundError",
    "TooManyBatchMessagesError",
    "UnprocessableEntityError",
    "UnreachableResultsError",
    "error_class_for",
    "parse_inactive_recipients",
]


class ErrorCode:
    """Postmark's ErrorCode numbers as named constants, to branch on instead of message text.

    The table is open: Postmark adds codes, and an unknown code still reaches the caller as a
    plain int on `APIError.error_code`; `describe()` then returns None.
    """

    SUCCESS: Final = 0
    """Success: the send or action was accepted."""
    INVALID_API_TOKEN: Final = 10
    """Bad or missing API token, or the wrong token type for the endpoint."""
    MULTIPLE_ERRORS: Final = 11
    """Multiple errors occurred; see the Errors property of the response."""
    RESOURCE_NOT_FOUND: Final = 12
    """The requested resource was not found (e.g. a bulk request status). (unverified: known
    from third-party notes only)"""
    INVALID_PAGINATION_KEY: Final = 13
    """The pagination key is not valid (bulk request list). (unverified: known from
    third-party notes only)"""
    ENDPOINT_REQUIRES_APPROVAL: Final = 14
    """The endpoint must be enabled for the account first (e.g. the Bulk API). (unverified:
    known from third-party notes only)"""
    MAINTENANCE: Final = 100
    """Postmark is down for maintenance."""
    INVALID_EMAIL_REQUEST: Final = 300
    """Invalid email request: a required field is missing or a field is malformed."""
    SENDER_SIGNATURE_NOT_FOUND: Final = 400
    """The From address has no sender signature or verified domain."""
    SENDER_SIGNATURE_NOT_CONFIRMED: Final = 401
    """The sender signature of the From address is not confirmed yet."""
    INVALID_JSON: Final = 402
    """The request body is not valid JSON."""
    INVALID_REQUEST_FIELDS: Final = 403
    """The request contains fields that are not valid for it."""
    NOT_ALLOWED_TO_SEND: Final = 405
    """The account is not allowed to send, e.g. it is out of credits."""
    INACTIVE_RECIPIENT: Final = 406
    """A recipient is inactive: it hard-bounced, complained of spam or was suppressed
    manually."""
    JSON_REQUIRED: Final = 409
    """The request must be sent as JSON."""
    TOO_MANY_BATCH_MESSAGES: Final = 410
    """A batch holds more than 500 messages."""
    FORBIDDEN_ATTACHMENT_TYPE: Final = 411
    """An attachment has a forbidden file type."""
    ACCOUNT_PENDING: Final = 412
    """The account is pending approval and may only send to addresses on its own domain."""
    ACCOUNT_MAY_NOT_SEND: Final = 413
    """The account may not send mail."""
    INVALID_SERVER_OR_ACCOUNT: Final = 422
    """The server or account is not valid. (unverified: known from third-party notes only)"""
    SENDER_SIGNATURE_QUERY_EXCEPTION: Final = 500
    """The sender signature query failed (bad paging or filter)."""
    SENDER_SIGNATURE_NOT_FOUND_BY_ID: Final = 501
    """No sender signature has this ID."""
    NO_UPDATED_SENDER_SIGNATURE_DATA: Final = 502
    """The request holds no sender signature data to change."""
    PUBLIC_DOMAIN_NOT_ALLOWED: Final = 503
    """A public domain (e.g. gmail.com) cannot be used for a sender signature."""
    SENDER_SIGNATURE_ALREADY_EXISTS: Final = 504
    """A sender signature with this address already exists."""
    DKIM_ALREADY_RENEWING: Final = 505
    """The DKIM key is already scheduled for renewal."""
    SENDER_SIGNATURE_ALREADY_CONFIRMED: Final = 506
    """The sender signature is already confirmed."""
    SENDER_SIGNATURE_NOT_OWNED: Final = 507
    """The sender signature belongs to another account."""
    DOMAIN_NOT_FOUND: Final = 510
    """No domain has this ID."""
    INVALID_FIELDS_SUPPLIED: Final = 511
    """Invalid fields were supplied."""
    DOMAIN_ALREADY_EXISTS: Final = 512
    """The domain already exists."""
    DOMAIN_NOT_OWNED: Final = 513
    """The domain belongs to another account."""
    DOMAIN_NAME_REQUIRED: Final = 514
    """Name is required to create a domain."""
    DOMAIN_NAME_TOO_LONG: Final = 515
    """The domain Name is longer than 255 characters."""
    INVALID_DOMAIN_NAME: Final = 516
    """The domain Name is not in a valid format."""
    SENDER_SIGNATURE_FIELD_REQUIRED: Final = 520
    """A required sender signature field is missing."""
    SENDER_SIGNATURE_FIELD_TOO_LONG: Final = 521
    """A sender signature field is too long."""
    INVALID_FIELD_VALUE: Final = 522
    """A field has a value that is not valid."""
    SERVER_QUERY_EXCEPTION: Final = 600
    """The server query failed (bad paging or filter)."""
    SERVER_NOT_FOUND: Final = 601
    """The server was not found (e.g. when pushing templates). (unverified: known from
    third-party notes only)"""
    DUPLICATE_INBOUND_DOMAIN: Final = 602
    """Another server already uses this inbound domain."""
    SERVER_NAME_ALREADY_EXISTS: Final = 603
    """A server with this name already exists."""
    NO_SERVER_DELETE_ACCESS: Final = 604
    """Server deletion is not enabled for this account (ask Postmark support)."""
    UNABLE_TO_DELETE_SERVER: Final = 605
    """The server could not be deleted."""
    INVALID_HOOK_URL: Final = 606
    """A server hook URL is not valid."""
    INVALID_SERVER_COLOR: Final = 607
    """The server Color is not valid."""
    INVALID_SERVER_NAME: Final = 608
    """The server Name is missing or not valid."""
    NO_UPDATED_SERVER_DATA: Final = 609
    """The request holds no server settings to change."""
    INVALID_INBOUND_DOMAIN_MX: Final = 610
    """The inbound domain has no valid MX record pointing at Postmark."""
    INVALID_INBOUND_SPAM_THRESHOLD: Final = 611
    """InboundSpamThreshold is not valid."""
    FEATURE_NOT_ENTITLED: Final = 614
    """The account plan does not include this feature (e.g. some stats). (unverified: known
    from third-party notes only)"""
    MESSAGES_QUERY_EXCEPTION: Final = 700
    """The message search failed (bad paging or filter)."""
    MESSAGE_NOT_FOUND: Final = 701
    """The message does not exist, or cannot be bypassed or retried."""
    INBOUND_BYPASS_FAILED: Final = 702
    """The blocked inbound message could not be bypassed."""
    INBOUND_RETRY_FAILED: Final = 703
    """The failed inbound message could not be retried."""
    TRIGGER_QUERY_EXCEPTION: Final = 800
    """The trigger query failed."""
    NO_TRIGGER_DATA: Final = 809
    """The request holds no trigger data."""
    INBOUND_RULE_ALREADY_EXISTS: Final = 810
    """The inbound rule already exists."""
    UNABLE_TO_REMOVE_INBOUND_RULE: Final = 811
    """The inbound rule could not be removed."""
    INBOUND_RULE_NOT_FOUND: Final = 812
    """The inbound rule was not found."""
    INVALID_EMAIL_OR_DOMAIN: Final = 813
    """Not a valid email address or domain."""
    STATS_QUERY_EXCEPTION: Final = 900
    """The stats query failed (e.g. a bad date)."""
    BOUNCES_QUERY_EXCEPTION: Final = 1000
    """The bounce query failed (bad paging, type or filter)."""
    BOUNCE_NOT_FOUND: Final = 1001
    """The bounce was not found."""
    BOUNCE_ID_REQUIRED: Final = 1002
    """The BounceID parameter is required."""
    CANNOT_ACTIVATE_BOUNCE: Final = 1003
    """The bounce cannot be activated (CanActivate is false)."""
    TEMPLATE_QUERY_EXCEPTION: Final = 1100
    """The template query failed (bad paging or filter)."""
    TEMPLATE_NOT_FOUND: Final = 1101
    """The TemplateId or alias is not valid or was not found."""
    TEMPLATE_LIMIT_EXCEEDED: Final = 1105
    """The server would exceed its template limit (100)."""
    NO_TEMPLATE_DATA: Final = 1109
    """The request holds no template data."""
    TEMPLATE_FIELD_REQUIRED: Final = 1120
    """A required template field is missing."""
    TEMPLATE_FIELD_TOO_LARGE: Final = 1121
    """A template field is too large."""
    INVALID_TEMPLATED_FIELD: Final = 1122
    """A templated field is not valid (e.g. a reserved model key)."""
    FIELD_NOT_ALLOWED: Final = 1123
    """A field is not allowed in this request (e.g. Subject or bodies on a templated send)."""
    NOTHING_TO_PUSH: Final = 1124
    """There are no templates to push. (unverified: known from third-party notes only)"""
    TEMPLATE_TYPE_MISMATCH: Final = 1125
    """The template types do not match (template push)."""
    LAYOUT_HAS_DEPENDENT_TEMPLATES: Final = 1130
    """The layout is still used by other templates and cannot be deleted."""
    INVALID_LAYOUT_CONTENT_PLACEHOLDER: Final = 1131
    """A layout must contain the {{{ @content }}} placeholder exactly once."""
    INVALID_MESSAGE_STREAM_TYPE: Final = 1221
    """MessageStreamType is not valid."""
    INVALID_MESSAGE_STREAM_ID: Final = 1222
    """The message stream ID is not valid."""
    INVALID_MESSAGE_STREAM_NAME: Final = 1223
    """The message stream Name is not valid."""
    MESSAGE_STREAM_NAME_TOO_LONG: Final = 1224
    """The message stream Name is longer than 100 characters."""
    MESSAGE_STREAM_LIMIT_REACHED: Final = 1225
    """The server has reached its maximum number of message streams."""
    MESSAGE_STREAM_NOT_FOUND: Final = 1226
    """The message stream for the provided ID was not found."""
    INVALID_MESSAGE_STREAM_ID_FORMAT: Final = 1227
    """The message stream ID is not in a valid format."""
    INBOUND_STREAM_ALREADY_EXISTS: Final = 1228
    """A server can have only one inbound message stream."""
    CANNOT_ARCHIVE_DEFAULT_STREAM: Final = 1229
    """Default message streams cannot be archived."""
    MESSAGE_STREAM_ID_ALREADY_EXISTS: Final = 1230
    """A message stream with this ID already exists."""
    MESSAGE_STREAM_DESCRIPTION_TOO_LONG: Final = 1231
    """The message stream Description is longer than 1000 characters."""
    CANNOT_UNARCHIVE_MESSAGE_STREAM: Final = 1232
    """The message stream cannot be unarchived."""
    MESSAGE_STREAM_ID_RESERVED_PREFIX: Final = 1233
    """A message stream ID cannot start with pm-."""
    MESSAGE_STREAM_DESCRIPTION_HAS_HTML: Final = 1234
    """The message stream Description cannot contain HTML."""
    MESSAGE_STREAM_NOT_ON_SERVER: Final = 1235
    """The MessageStream given does not exist on this server."""
    STREAM_SENDING_NOT_SUPPORTED: Final = 1236
    """Sending is not supported on this message stream (e.g. an inbound stream)."""
    MESSAGE_STREAM_ID_RESERVED: Final = 1237
    """The message stream ID "all" is reserved."""
    INVALID_DATA_REMOVAL_REQUEST: Final = 1300
    """The data removal request is not valid."""
    INVALID_DATA_REMOVAL_REQUEST_ID: Final = 1301
    """The data removal request ID is not valid."""
    NO_DATA_REMOVAL_ACCESS: Final = 1302
    """The account has no access to data removal."""
    WEBHOOK_NOT_FOUND: Final = 1352
    """The webhook was not found. (unverified: known from third-party notes only)"""
    INVALID_WEBHOOK_URL: Final = 1354
    """The webhook Url is not valid. (unverified: known from third-party notes only)"""
    WEBHOOK_LIMIT_REACHED: Final = 1359
    """The maximum number of webhooks has been reached. (unverified: known from third-party
    notes only)"""
    WEBHOOK_VERIFICATION_FAILED: Final = 1364
    """The webhook verification failed. (unverified: known from third-party notes only)"""
    INVALID_SUPPRESSION_REASON_FILTER: Final = 1404
    """The SuppressionReason filter is not valid. (unverified: known from third-party notes
    only)"""
    INVALID_SUPPRESSION_ORIGIN_FILTER: Final = 1405
    """The Origin filter is not valid. (unverified: known from third-party notes only)"""
    SUPPRESSION_CHANGE_NOT_ALLOWED: Final = 1406
    """Not authorised to change this suppression. (unverified: known from third-party notes
    only)"""
    SUPPRESSION_PROCESSING_ERROR: Final = 1407
    """The suppression could not be processed. (unverified: known from third-party notes
    only)"""
    INVALID_SUPPRESSION_EMAIL_ADDRESS: Final = 1408
    """A suppression holds an invalid email address. (unverified: known from third-party
    notes only)"""
    INVALID_SUPPRESSIONS_BODY: Final = 1409
    """The Suppressions body is missing or not valid. (unverified: known from third-party
    notes only)"""
    TOO_MANY_SUPPRESSIONS: Final = 1410
    """More than 50 suppressions in one request. (unverified: known from third-party notes
    only)"""
    SENDING_IP_NOT_ALLOWED: Final = 1480
    """The sending IP address is not on the allow-list. (unverified: known from third-party
    notes only)"""
    STATS_FROM_DATE_TOO_OLD: Final = 1500
    """The stats FromDate is older than allowed. (unverified: known from third-party notes
    only)"""
    AGENT_ACCESS_DENIED: Final = 9001
    """postmark-gateway's access policy does not let this agent make this call; nothing was
    sent to Postmark. Message names the rule."""
    GATEWAY_UPSTREAM_FAILED: Final = 9002
    """postmark-gateway could not reach Postmark, or lost the connection after forwarding;
    the call may or may not have taken effect (the audit log says which it was)."""
    GATEWAY_STORE_UNAVAILABLE: Final = 9003
    """postmark-gateway cannot write its audit log, so it refuses every call (nothing was
    sent); it serves again when the store returns."""
    APPROVAL_REQUIRED: Final = 9004
    """postmark-gateway's access policy holds this call for a person's approval; nothing was
    sent to Postmark. Message names the URL of the console page where it is approved; once
    it is, the identical call goes through once."""

    @staticmethod
    def describe(code: int | None) -> ErrorCodeInfo | None:
        """The table row of `code`, or None for a code the spec does not list."""
        if code is None:
            return None
        return _ERROR_CODES.get(code)

    @staticmethod
    def table() -> tuple[ErrorCodeInfo, ...]:
        """Every row the spec lists, in its order."""
        return tuple(_ERROR_CODES.values())

    @staticmethod
    def name_of(code: int | None) -> str | None:
        """The PascalCase name of `code` (`InactiveRecipient`), or None when unknown."""
        info = ErrorCode.describe(code)
        return info.name if info else None


_ERROR_CODES: Final[dict[int, ErrorCodeInfo]] = {
    0: ErrorCodeInfo(0, "Success", "Success: the send or action was accepted.", 200, True),
    10: ErrorCodeInfo(
        10,
        "InvalidApiToken",
        "Bad or missing API token, or the wrong token type for the endpoint.",
        401,
        True,
    ),
    11: ErrorCodeInfo(
        11,
        "MultipleErrors",
        "Multiple errors occurred; see the Errors property of the response.",
        None,
        True,
    ),
    12: ErrorCodeInfo(
        12,
        "ResourceNotFound",
        "The requested resource was not found (e.g. a bulk request status).",
        404,
        False,
    ),
    13: ErrorCodeInfo(
        13,
        "InvalidPaginationKey",
        "The pagination key is not valid (bulk request list).",
        None,
        False,
    ),
    14: ErrorCodeInfo(
        14,
        "EndpointRequiresApproval",
        "The endpoint must be enabled for the account first (e.g. the Bulk API).",
        None,
        False,
    ),
    100: ErrorCodeInfo(100, "Maintenance", "Postmark is down for maintenance.", 503, True),
    300: ErrorCodeInfo(
        300,
        "InvalidEmailRequest",
        "Invalid email request: a required field is missing or a field is malformed.",
        None,
        True,
    ),
    400: ErrorCodeInfo(
        400,
        "SenderSignatureNotFound",
        "The From address has no sender signature or verified domain.",
        None,
        True,
    ),
    401: ErrorCodeInfo(
        401,
        "SenderSignatureNotConfirmed",
        "The sender signature of the From address is not confirmed yet.",
        None,
        True,
    ),
    402: ErrorCodeInfo(402, "InvalidJson", "The request body is not valid JSON.", None, True),
    403: ErrorCodeInfo(
        403,
        "InvalidRequestFields",
        "The request contains fields that are not valid for it.",
        None,
        True,
    ),
    405: ErrorCodeInfo(
        405,
        "NotAllowedToSend",
        "The account is not allowed to send, e.g. it is out of credits.",
        None,
        True,
    ),
    406: ErrorCodeInfo(
        406,
        "InactiveRecipient",
        "A recipient is inactive: it hard-bounced, complained of spam or was suppressed manually.",
        None,
        True,
    ),
    409: ErrorCodeInfo(409, "JsonRequired", "The request must be sent as JSON.", None, True),
    410: ErrorCodeInfo(
        410, "TooManyBatchMessages", "A batch holds more than 500 messages.", None, True
    ),
    411: ErrorCodeInfo(
        411, "ForbiddenAttachmentType", "An attachment has a forbidden file type.", None, True
    ),
    412: ErrorCodeInfo(
        412,
        "AccountPending",
        "The account is pending approval and may only send to addresses on its own domain.",
        None,
        True,
    ),
    413: ErrorCodeInfo(413, "AccountMayNotSend", "The account may not send mail.", None, True),
    422: ErrorCodeInfo(
        422, "InvalidServerOrAccount", "The server or account is not valid.", None, False
    ),
    500: ErrorCodeInfo(
        500,
        "SenderSignatureQueryException",
        "The sender signature query failed (bad paging or filter).",
        None,
        True,
    ),
    501: ErrorCodeInfo(
        501, "SenderSignatureNotFoundById", "No sender signature has this ID.", None, True
    ),
    502: ErrorCodeInfo(
        502,
        "NoUpdatedSenderSignatureData",
        "The request holds no sender signature data to change.",
        None,
        True,
    ),
    503: ErrorCodeInfo(
        503,
        "PublicDomainNotAllowed",
        "A public domain (e.g. gmail.com) cannot be used for a sender signature.",
        None,
        True,
    ),
    504: ErrorCodeInfo(
        504,
        "SenderSignatureAlreadyExists",
        "A sender signature with this address already exists.",
        None,
        True,
    ),
    505: ErrorCodeInfo(
        505, "DkimAlreadyRenewing", "The DKIM key is already scheduled for renewal.", None, True
    ),
    506: ErrorCodeInfo(
        506,
        "SenderSignatureAlreadyConfirmed",
        "The sender signature is already confirmed.",
        None,
        True,
    ),
    507: ErrorCodeInfo(
        507,
        "SenderSignatureNotOwned",
        "The sender signature belongs to another account.",
        None,
        True,
    ),
    510: ErrorCodeInfo(510, "DomainNotFound", "No domain has this ID.", None, True),
    511: ErrorCodeInfo(511, "InvalidFieldsSupplied", "Invalid fields were supplied.", None, True),
    512: ErrorCodeInfo(512, "DomainAlreadyExists", "The domain already exists.", None, True),
    513: ErrorCodeInfo(513, "DomainNotOwned", "The domain belongs to another account.", None, True),
    514: ErrorCodeInfo(
        514, "DomainNameRequired", "Name is required to create a domain.", None, True
    ),
    515: ErrorCodeInfo(
        515, "DomainNameTooLong", "The domain Name is longer than 255 characters.", None, True
    ),
    516: ErrorCodeInfo(
        516, "InvalidDomainName", "The domain Name is not in a valid format.", None, True
    ),
    520: ErrorCodeInfo(
        520,
        "SenderSignatureFieldRequired",
        "A required sender signature field is missing.",
        None,
        True,
    ),
    521: ErrorCodeInfo(
        521, "SenderSignatureFieldTooLong", "A sender signature field is too long.", None, True
    ),
    522: ErrorCodeInfo(
        522, "InvalidFieldValue", "A field has a value that is not valid.", None, True
    ),
    600: ErrorCodeInfo(
        600, "ServerQueryException", "The server query failed (bad paging or filter).", None, True
    ),
    601: ErrorCodeInfo(
        601,
        "ServerNotFound",
        "The server was not found (e.g. when pushing templates).",
        None,
        False,
    ),
    602: ErrorCodeInfo(
        602,
        "DuplicateInboundDomain",
        "Another server already uses this inbound domain.",
        None,
        True,
    ),
    603: ErrorCodeInfo(
        603, "ServerNameAlreadyExists", "A server with this name already exists.", None, True
    ),
    604: ErrorCodeInfo(
        604,
        "NoServerDeleteAccess",
        "Server deletion is not enabled for this account (ask Postmark support).",
        None,
        True,
    ),
    605: ErrorCodeInfo(605, "UnableToDeleteServer", "The server could not be deleted.", None, True),
    606: ErrorCodeInfo(606, "InvalidHookUrl", "A server hook URL is not valid.", None, True),
    607: ErrorCodeInfo(607, "InvalidServerColor", "The server Color is not valid.", None, True),
    608: ErrorCodeInfo(
        608, "InvalidServerName", "The server Name is missing or not valid.", None, True
    ),
    609: ErrorCodeInfo(
        609, "NoUpdatedServerData", "The request holds no server settings to change.", None, True
    ),
    610: ErrorCodeInfo(
        610,
        "InvalidInboundDomainMx",
        "The inbound domain has no valid MX record pointing at Postmark.",
        None,
        True,
    ),
    611: ErrorCodeInfo(
        611, "InvalidInboundSpamThreshold", "InboundSpamThreshold is not valid.", None, True
    ),
    614: ErrorCodeInfo(
        614,
        "FeatureNotEntitled",
        "The account plan does not include this feature (e.g. some stats).",
        None,
        False,
    ),
    700: ErrorCodeInfo(
        700,
        "MessagesQueryException",
        "The message search failed (bad paging or filter).",
        None,
        True,
    ),
    701: ErrorCodeInfo(
        701,
        "MessageNotFound",
        "The message does not exist, or cannot be bypassed or retried.",
        None,
        True,
    ),
    702: ErrorCodeInfo(
        702, "InboundBypassFailed", "The blocked inbound message could not be bypassed.", None, True
    ),
    703: ErrorCodeInfo(
        703, "InboundRetryFailed", "The failed inbound message could not be retried.", None, True
    ),
    800: ErrorCodeInfo(800, "TriggerQueryException", "The trigger query failed.", None, True),
    809: ErrorCodeInfo(809, "NoTriggerData", "The request holds no trigger data.", None, True),
    810: ErrorCodeInfo(
        810, "InboundRuleAlreadyExists", "The inbound rule already exists.", None, True
    ),
    811: ErrorCodeInfo(
        811, "UnableToRemoveInboundRule", "The inbound rule could not be removed.", None, True
    ),
    812: ErrorCodeInfo(812, "InboundRuleNotFound", "The inbound rule was not found.", None, True),
    813: ErrorCodeInfo(
        813, "InvalidEmailOrDomain", "Not a valid email address or domain.", None, True
    ),
    900: ErrorCodeInfo(
        900, "StatsQueryException", "The stats query failed (e.g. a bad date).", None, True
    ),
    1000: ErrorCodeInfo(
        1000,
        "BouncesQueryException",
        "The bounce query failed (bad paging, type or filter).",
        None,
        True,
    ),
    1001: ErrorCodeInfo(1001, "BounceNotFound", "The bounce was not found.", None, True),
    1002: ErrorCodeInfo(1002, "BounceIdRequired", "The BounceID parameter is required.", 400, True),
    1003: ErrorCodeInfo(
        1003,
        "CannotActivateBounce",
        "The bounce cannot be activated (CanActivate is false).",
        None,
        True,
    ),
    1100: ErrorCodeInfo(
        1100,
        "TemplateQueryException",
        "The template query failed (bad paging or filter).",
        None,
        True,
    ),
    1101: ErrorCodeInfo(
        1101,
        "TemplateNotFound",
        "The TemplateId or alias is not valid or was not found.",
        None,
        True,
    ),
    1105: ErrorCodeInfo(
        1105,
        "TemplateLimitExceeded",
        "The server would exceed its template limit (100).",
        None,
        True,
    ),
    1109: ErrorCodeInfo(1109, "NoTemplateData", "The request holds no template data.", None, True),
    1120: ErrorCodeInfo(
        1120, "TemplateFieldRequired", "A required template field is missing.", None, True
    ),
    1121: ErrorCodeInfo(
        1121, "TemplateFieldTooLarge", "A template field is too large.", None, True
    ),
    1122: ErrorCodeInfo(
        1122,
        "InvalidTemplatedField",
        "A templated field is not valid (e.g. a reserved model key).",
        None,
        True,
    ),
    1123: ErrorCodeInfo(
        1123,
        "FieldNotAllowed",
        "A field is not allowed in this request (e.g. Subject or bodies on a templated send).",
        None,
        True,
    ),
    1124: ErrorCodeInfo(1124, "NothingToPush", "There are no templates to push.", None, False),
    1125: ErrorCodeInfo(
        1125, "TemplateTypeMismatch", "The template types do not match (template push).", None, True
    ),
    1130: ErrorCodeInfo(
        1130,
        "LayoutHasDependentTemplates",
        "The layout is still used by other templates and cannot be deleted.",
        None,
        True,
    ),
    1131: ErrorCodeInfo(
        1131,
        "InvalidLayoutContentPlaceholder",
        "A layout must contain the {{{ @content }}} placeholder exactly once.",
        None,
        True,
    ),
    1221: ErrorCodeInfo(
        1221, "InvalidMessageStreamType", "MessageStreamType is not valid.", None, True
    ),
    1222: ErrorCodeInfo(
        1222, "InvalidMessageStreamId", "The message stream ID is not valid.", None, True
    ),
    1223: ErrorCodeInfo(
        1223, "InvalidMessageStreamName", "The message stream Name is not valid.", None, True
    ),
    1224: ErrorCodeInfo(
        1224,
        "MessageStreamNameTooLong",
        "The message stream Name is longer than 100 characters.",
        None,
        True,
    ),
    1225: ErrorCodeInfo(
        1225,
        "MessageStreamLimitReached",
        "The server has reached its maximum number of message streams.",
        None,
        True,
    ),
    1226: ErrorCodeInfo(
        1226,
        "MessageStreamNotFound",
        "The message stream for the provided ID was not found.",
        None,
        True,
    ),
    1227: ErrorCodeInfo(
        1227,
        "InvalidMessageStreamIdFormat",
        "The message stream ID is not in a valid format.",
        None,
        True,
    ),
    1228: ErrorCodeInfo(
        1228,
        "InboundStreamAlreadyExists",
        "A server can have only one inbound message stream.",
        None,
        True,
    ),
    1229: ErrorCodeInfo(
        1229,
        "CannotArchiveDefaultStream",
        "Default message streams cannot be archived.",
        None,
        True,
    ),
    1230: ErrorCodeInfo(
        1230,
        "MessageStreamIdAlreadyExists",
        "A message stream with this ID already exists.",
        None,
        True,
    ),
    1231: ErrorCodeInfo(
        1231,
        "MessageStreamDescriptionTooLong",
        "The message stream Description is longer than 1000 characters.",
        None,
        True,
    ),
    1232: ErrorCodeInfo(
        1232, "CannotUnarchiveMessageStream", "The message stream cannot be unarchived.", None, True
    ),
    1233: ErrorCodeInfo(
        1233,
        "MessageStreamIdReservedPrefix",
        "A message stream ID cannot start with pm-.",
        None,
        True,
    ),
    1234: ErrorCodeInfo(
        1234,
        "MessageStreamDescriptionHasHtml",
        "The message stream Description cannot contain HTML.",
        None,
        True,
    ),
    1235: ErrorCodeInfo(
        1235,
        "MessageStreamNotOnServer",
        "The MessageStream given does not exist on this server.",
        None,
        True,
    ),
    1236: ErrorCodeInfo(
        1236,
        "StreamSendingNotSupported",
        "Sending is not supported on this message stream (e.g. an inbound stream).",
        None,
        True,
    ),
    1237: ErrorCodeInfo(
        1237, "MessageStreamIdReserved", 'The message stream ID "all" is reserved.', None, True
    ),
    1300: ErrorCodeInfo(
        1300, "InvalidDataRemovalRequest", "The data removal request is not valid.", None, True
    ),
    1301: ErrorCodeInfo(
        1301, "InvalidDataRemovalRequestId", "The data removal request ID is not valid.", None, True
    ),
    1302: ErrorCodeInfo(
        1302, "NoDataRemovalAccess", "The account has no access to data removal.", None, True
    ),
    1352: ErrorCodeInfo(1352, "WebhookNotFound", "The webhook was not found.", None, False),
    1354: ErrorCodeInfo(1354, "InvalidWebhookUrl", "The webhook Url is not valid.", None, False),
    1359: ErrorCodeInfo(
        1359, "WebhookLimitReached", "The maximum number of webhooks has been reached.", None, False
    ),
    1364: ErrorCodeInfo(
        1364, "WebhookVerificationFailed", "The webhook verification failed.", None, False
    ),
    1404: ErrorCodeInfo(
        1404,
        "InvalidSuppressionReasonFilter",
        "The SuppressionReason filter is not valid.",
        None,
        False,
    ),
    1405: ErrorCodeInfo(
        1405, "InvalidSuppressionOriginFilter", "The Origin filter is not valid.", None, False
    ),
    1406: ErrorCodeInfo(
        1406,
        "SuppressionChangeNotAllowed",
        "Not authorised to change this suppression.",
        None,
        False,
    ),
    1407: ErrorCodeInfo(
        1407, "SuppressionProcessingError", "The suppression could not be processed.", None, False
    ),
    1408: ErrorCodeInfo(
        1408,
        "InvalidSuppressionEmailAddress",
        "A suppression holds an invalid email address.",
        None,
        False,
    ),
    1409: ErrorCodeInfo(
        1409,
        "InvalidSuppressionsBody",
        "The Suppressions body is missing or not valid.",
        None,
        False,
    ),
    1410: ErrorCodeInfo(
        1410, "TooManySuppressions", "More than 50 suppressions in one request.", None, False
    ),
    1480: ErrorCodeInfo(
        1480, "SendingIpNotAllowed", "The sending IP address is not on the allow-list.", None, False
    ),
    1500: ErrorCodeInfo(
        1500, "StatsFromDateTooOld", "The stats FromDate is older than allowed.", None, False
    ),
    9001: ErrorCodeInfo(
        9001,
        "AgentAccessDenied",
        "postmark-gateway's access policy does not let this agent make this call; nothing was sent to Postmark. Message names the rule.",
        422,
        True,
    ),
    9002: ErrorCodeInfo(
        9002,
        "GatewayUpstreamFailed",
        "postmark-gateway could not reach Postmark, or lost the connection after forwarding; the call may or may not have taken effect (the audit log says which it was).",
        502,
        True,
    ),
    9003: ErrorCodeInfo(
        9003,
        "GatewayStoreUnavailable",
        "postmark-gateway cannot write its audit log, so it refuses every call (nothing was sent); it serves again when the store returns.",
        503,
        True,
    ),
    9004: ErrorCodeInfo(
        9004,
        "ApprovalRequired",
        "postmark-gateway's access policy holds this call for a person's approval; nothing was sent to Postmark. Message names the URL of the console page where it is approved; once it is, the identical call goes through once.",
        422,
        True,
    ),
}


class InvalidEmailRequestError(UnprocessableEntityError):
    """ErrorCode 300 (InvalidEmailRequest): Invalid email request: a required field is
    missing or a field is malformed."""


class SenderSignatureNotFoundError(UnprocessableEntityError):
    """ErrorCode 400 (SenderSignatureNotFound): The From address has no sender signature or
    verified domain."""


class SenderSignatureNotConfirmedError(UnprocessableEntityError):
    """ErrorCode 401 (SenderSignatureNotConfirmed): The sender signature of the From address
    is not confirmed yet."""


class InvalidRequestFieldsError(UnprocessableEntityError):
    """ErrorCode 403 (InvalidRequestFields): The request contains fields that are not valid
    for it."""


class InactiveRecipientError(InactiveRecipientsMixin, UnprocessableEntityError):
    """ErrorCode 406 (InactiveRecipient): A recipient is inactive: it hard-bounced,
    complained of spam or was suppressed manually."""


class TooManyBatchMessagesError(UnprocessableEntityError):
    """ErrorCode 410 (TooManyBatchMessages): A batch holds more than 500 messages."""


class ForbiddenAttachmentTypeError(UnprocessableEntityError):
    """ErrorCode 411 (ForbiddenAttachmentType): An attachment has a forbidden file type."""


class TemplateNotFoundError(UnprocessableEntityError):
    """ErrorCode 1101 (TemplateNotFound): The TemplateId or alias is not valid or was not
    found."""


class TemplateLimitExceededError(UnprocessableEntityError):
    """ErrorCode 1105 (TemplateLimitExceeded): The server would exceed its template limit
    (100)."""


class MessageStreamNotFoundError(UnprocessableEntityError):
    """ErrorCode 1226 (MessageStreamNotFound): The message stream for the provided ID was not
    found."""


class AgentAccessDeniedError(UnprocessableEntityError):
    """ErrorCode 9001 (AgentAccessDenied): postmark-gateway's access policy does not let this
    agent make this call; nothing was sent to Postmark. Message names the rule."""


# ErrorCode -> (the HTTP status it comes with, its named class).
_BY_CODE: Final[dict[int, tuple[int, type[APIError]]]] = {
    300: (422, InvalidEmailRequestError),
    400: (422, SenderSignatureNotFoundError),
    401: (422, SenderSignatureNotConfirmedError),
    403: (422, InvalidRequestFieldsError),
    406: (422, InactiveRecipientError),
    410: (422, TooManyBatchMessagesError),
    411: (422, ForbiddenAttachmentTypeError),
    1101: (422, TemplateNotFoundError),
    1105: (422, TemplateLimitExceededError),
    1226: (422, MessageStreamNotFoundError),
    9001: (422, AgentAccessDeniedError),
}


def error_class_for(status_code: int | None, error_code: int | None) -> type[APIError]:
    """The exception class for an error answer.

    A named class is chosen when the ErrorCode has one and arrived with its usual status, so
    that `isinstance(err, RateLimitError)` always agrees with the HTTP status. `status_code`
    None means "no HTTP status of its own" (an entry of a batch answer): the code alone decides.
    """
    return class_for(status_code, error_code, _BY_CODE)
