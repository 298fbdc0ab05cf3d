"""ENS errors: one exception type with a category, and a sentence an operator can act on.

The original code, message, RequestId and HTTP status are always kept, so a support ticket can
quote them; the sentence is what the dashboard shows first.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    NOT_FOUND = "not-found"
    INVALID_STATE = "invalid-state"
    SERVICE_MANAGED = "service-managed"
    PERMISSION = "permission"
    AUTHENTICATION = "authentication"
    THROTTLED = "throttled"
    TRANSIENT = "transient"
    INVALID_PARAMETER = "invalid-parameter"
    OUTCOME_UNKNOWN = "outcome-unknown"
    MALFORMED_RESPONSE = "malformed-response"
    OTHER = "other"


# Codes the client makes up for failures that never got an ENS answer.
CONNECTION_FAILED = "Client.ConnectionFailed"
TIMED_OUT = "Client.Timeout"
OUTCOME_UNKNOWN = "Client.OutcomeUnknown"
MALFORMED_RESPONSE = "Client.MalformedResponse"

_AUTHENTICATION_CODES = {
    "SignatureDoesNotMatch",
    "SignatureNonceUsed",
    "IncompleteSignature",
    "IllegalTimestamp",
    "InvalidAccessKeySecret",
}
_TRANSIENT_CODES = {
    "ens.interface.error",
    "InternalError",
    "ServiceUnavailable",
    "UnknownError",
    CONNECTION_FAILED,
    TIMED_OUT,
}
_INVALID_STATE_CODES = {
    "InvalidOperation.InvalidEniStatus",
    "InvalidOperation.InvalidEnsStatus",
    "InvalidOperation.InvalidEniType",
}


def categorize(code: str, http_status: int | None) -> Category:
    if code == OUTCOME_UNKNOWN:
        return Category.OUTCOME_UNKNOWN
    if code == MALFORMED_RESPONSE:
        return Category.MALFORMED_RESPONSE
    if code == "InvalidParameter.EniServiceManaged":
        return Category.SERVICE_MANAGED
    if code in _INVALID_STATE_CODES or code.startswith("InvalidOperation."):
        return Category.INVALID_STATE
    if code in _AUTHENTICATION_CODES or code.startswith(
        ("InvalidAccessKeyId.", "InvalidTimeStamp.", "InvalidSecurityToken.")
    ):
        return Category.AUTHENTICATION
    if code == "NoPermission" or code.startswith("Forbidden"):
        return Category.PERMISSION
    if code.startswith("Throttling"):
        return Category.THROTTLED
    if code in _TRANSIENT_CODES:
        return Category.TRANSIENT
    if code.startswith(("InvalidParameter", "MissingParameter")) or code in {
        "InvalidAction.NotFound",
        "InvalidVersion",
    }:
        return Category.INVALID_PARAMETER
    if code.endswith(".NotFound") or code.endswith("NotFound"):
        return Category.NOT_FOUND
    if http_status is not None and http_status >= 500:
        return Category.TRANSIENT
    return Category.OTHER


# Every DetachNetworkInterface code documented by ENS (shared/ens-api.md 2.1), and the others
# an operator may meet, as: what happened, then what to do.
_SENTENCES = {
    "ens.interface.error": (
        "ENS reported an internal error while handling the request, so it may not have been "
        "carried out. Check the network interface's state, then try again in a few minutes."
    ),
    "InvalidEniId.NotFound": (
        "ENS does not know this network interface; it may have been deleted. "
        "Sync the inventory to bring the list up to date."
    ),
    "InvalidParameter.EniServiceManaged": (
        "This network interface is managed by a cloud service and cannot be detached or "
        "attached by hand. Change it through the service that owns it."
    ),
    "InvalidOperation.InvalidEniStatus": (
        "The network interface is not in a state that allows this: only an interface in use "
        "(InUse) can be detached, only an available one can be attached. Refresh its state."
    ),
    "InvalidOperation.InvalidEniType": (
        "This is the instance's primary network interface, which can never be detached. "
        "Only secondary interfaces can be detached."
    ),
    "InvalidOperation.InvalidEnsStatus": (
        "The instance is not stopped. Stop the instance first: ENS detaches and attaches "
        "network interfaces only on a stopped instance."
    ),
    "InstanceNotFound": (
        "ENS does not know this instance; it may have been released. "
        "Sync the inventory to bring the list up to date."
    ),
    "InvalidOperation.InstanceNotSupport": (
        "This instance does not support the operation, for example because the interface "
        "belongs to another edge node or network."
    ),
    MALFORMED_RESPONSE: (
        "ENS answered with something that is not a valid API response. Nothing can be "
        "concluded from it; try again, and report it with the details below if it persists."
    ),
    OUTCOME_UNKNOWN: (
        "No clear answer came back from ENS, so the request may or may not have been carried "
        "out. Its effect is checked by reading the current state; do not repeat it blindly."
    ),
}
_CATEGORY_SENTENCES = {
    Category.NOT_FOUND: "ENS does not know this resource. Sync the inventory and try again.",
    Category.INVALID_STATE: (
        "The resource is not in a state that allows this operation. Refresh its state."
    ),
    Category.AUTHENTICATION: (
        "ENS did not accept the dashboard's credentials. Check ENS_ACCESS_KEY_ID, "
        "ENS_ACCESS_KEY_SECRET (and ENS_SECURITY_TOKEN) and that the server's clock is right."
    ),
    Category.THROTTLED: (
        "ENS is limiting how fast the dashboard may call it. Wait a moment and try again."
    ),
    Category.TRANSIENT: (
        "ENS could not be reached or had a temporary failure. Try again in a moment."
    ),
    Category.INVALID_PARAMETER: (
        "ENS refused a value in the request the dashboard sent. This is a fault in the "
        "dashboard: report it with the details below."
    ),
    Category.OTHER: "ENS refused the request. The details below say why.",
}


def operator_sentence(code: str, category: Category, action: str = "") -> str:
    if category is Category.PERMISSION:
        permission = f"ens:{action}" if action else "the needed ens: permission"
        return (
            f"The dashboard's cloud identity lacks the permission {permission}. Ask the cloud "
            "account's administrator to grant it to the RAM user whose AccessKey the "
            "dashboard uses."
        )
    if code.startswith("InvalidParameter.") and code not in _SENTENCES:
        field = code.removeprefix("InvalidParameter.")
        return (
            f"ENS refused the value of {field} in the request the dashboard sent. This is a "
            "fault in the dashboard: report it with the details below."
        )
    return (
        _SENTENCES.get(code)
        or _CATEGORY_SENTENCES.get(category)
        or _CATEGORY_SENTENCES[Category.OTHER]
    )


class EnsError(Exception):
    """Any failed ENS call: an error answer, no answer, or an unreadable one."""

    def __init__(
        self,
        *,
        code: str,
        message: str,
        request_id: str = "",
        http_status: int | None = None,
        action: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.action = action
        # Seconds ENS asked us to wait before the next call (x-acs-retry-after).
        self.retry_after = retry_after
        self.category = categorize(code, http_status)
        super().__init__(self.describe())

    @property
    def operator_message(self) -> str:
        return operator_sentence(self.code, self.category, self.action)

    @property
    def retryable(self) -> bool:
        return self.category in (Category.THROTTLED, Category.TRANSIENT)

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in the sync's page walker process, it crosses to the caller: rebuilt from its
        # attributes, since __init__ takes keywords only.
        return (_restored, (type(self), self.__dict__.copy()))

    def describe(self) -> str:
        where = f"{self.action}: " if self.action else ""
        request_id = self.request_id or "none"
        return f"{where}{self.code}: {self.message} (RequestId {request_id})"

    def __repr__(self) -> str:
        return (
            f"EnsError(code={self.code!r}, category={self.category.value!r}, "
            f"request_id={self.request_id!r}, http_status={self.http_status!r})"
        )


class OutcomeUnknown(EnsError):
    """A write with no clear answer (timeout, dropped connection, 5xx): read the state to learn."""

    def __init__(
        self, *, message: str, action: str, request_id: str = "", http_status: int | None = None
    ) -> None:
        super().__init__(
            code=OUTCOME_UNKNOWN,
            message=message,
            request_id=request_id,
            http_status=http_status,
            action=action,
        )


def _restored(kind: type[EnsError], attributes: dict[str, object]) -> EnsError:
    error = kind.__new__(kind)
    error.__dict__.update(attributes)
    Exception.__init__(error, error.describe())
    return error


class EnsConfigurationError(Exception):
    """The client cannot be built: settings are missing or invalid."""
