"""Redact credentials from any text before it is stored or printed: the one place that does it.

Delivery sources (ledger `source`, bronze `_source_file`), lineage events and every error message
pass through `redact`. It removes the user info of every URL (`scheme://user:token@host` →
`scheme://***@host`), the value of every credential-looking parameter in any position — URL query
strings (`?password=…`, `&access_token=…`), ODBC and ADO connection strings (`PWD=…;`,
`AccountKey=…;`, braced `{…}` values), Snowflake `token=…` — and the values of secret-looking
environment variables wherever they appear.
"""

from __future__ import annotations

import os
import re

REDACTED = "***"

_USER_INFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/\s?#@]*(?:@[^/\s?#@]*)*)@",
                        re.IGNORECASE)
"""The user info of a URL, up to the last `@` of its authority (a password may hold an unescaped `@`)."""
_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "key", "credential", "signature",
                 "sig", "auth", "session", "cookie")
_SECRET_PARAMETER = re.compile(
    r"(?P<name>(?<![\w.-])[\w.-]*(?:" + "|".join(_SECRET_WORDS) + r")[\w.-]*=)"
    r"(?P<value>\{[^}]*\}?|\"[^\"]*\"?|'[^']*'?|[^&;#\s'\",)\]}]+)",
    re.IGNORECASE,
)
"""`name=value` where the name holds a credential word, as in query strings and connection strings."""
_SECRET_VARIABLE = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|CREDENTIALS?)$",
                              re.IGNORECASE)
"""Environment variables whose values are secrets (URL variables are covered by the URL patterns)."""
_MIN_SECRET_CHARS = 6


def redact(text: str) -> str:
    """`text` with every credential replaced by `***` (see the module docstring)."""
    if not text:
        return text
    text = _USER_INFO.sub(rf"\g<scheme>{REDACTED}@", text)
    text = _SECRET_PARAMETER.sub(_redact_value, text)
    for name, value in os.environ.items():
        if len(value) >= _MIN_SECRET_CHARS and _SECRET_VARIABLE.search(name) and value in text:
            text = text.replace(value, REDACTED)
    return text


def redact_url(url: str) -> str:
    """A URL or connection string without its credentials (user info and secret parameters)."""
    return _SECRET_PARAMETER.sub(_redact_value, _USER_INFO.sub(rf"\g<scheme>{REDACTED}@", url))


def _redact_value(match: re.Match[str]) -> str:
    return match.group("name") + (match.group("value") if match.group("value") == REDACTED else REDACTED)
