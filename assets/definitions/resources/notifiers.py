"""Where alerts go: the log (default), an HTTP webhook, Slack (dagster-slack) or e-mail (SMTP).

The channels are chosen by environment (`SHELFGUARD_NOTIFIER=log|webhook|slack|email`, comma
separated for several) so a deployment switches them without a code change. Each channel is tried a
bounded number of times with backoff; a channel that still fails is logged and reported back, never
raised, because a broken webhook must not stop the freshness sensor or an ingestion run.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import time
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from enum import StrEnum
from typing import Any, Protocol

import dagster as dg
from dagster_slack import SlackResource
from pydantic import BaseModel, Field

LOGGER = logging.getLogger("shelfguard.alerts")
CHANNELS = ("log", "webhook", "slack", "email")


class AlertKind(StrEnum):
    LATE = "late"
    ON_TIME_AGAIN = "on_time_again"
    GATE_BLOCKED = "gate_blocked"
    DELIVERY_STUCK = "delivery_stuck"


class Alert(BaseModel):
    """What every channel is told; its JSON form is the webhook body."""

    kind: AlertKind = Field(description="late, on_time_again, gate_blocked or delivery_stuck.")
    retailer: str = Field(description="Retailer code, e.g. nwg_us.")
    asset: str = Field(description="Dagster asset key as a path, e.g. bronze/nwg_us__pos_daily.")
    contract_id: str = Field(description="ODCS id of the retailer contract.")
    status: str = Field(description="on_time, late, never_delivered, blocked or stuck.")
    expected_by: datetime | None = Field(None, description="Deadline missed (late) or next due (on time).")
    last_delivery: datetime | None = Field(None, description="When the newest delivery arrived.")
    lateness_seconds: float | None = Field(None, description="Seconds past expected_by; null unless late.")
    delivery_id: str | None = Field(None, description="The blocked or stuck delivery, if any.")
    rule_ids: list[str] = Field(default_factory=list, description="Failing rules (gate alerts only).")
    message: str = Field(description="One line for people.")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Notifier(Protocol):
    """One alert channel; `send` raises on failure so the caller can retry."""

    name: str

    def send(self, alert: Alert) -> None: ...


class LogNotifier:
    name = "log"

    def send(self, alert: Alert) -> None:
        level = logging.INFO if alert.kind is AlertKind.ON_TIME_AGAIN else logging.WARNING
        LOGGER.log(level, "%s %s", alert.message, json.dumps(alert.payload(), sort_keys=True))


class WebhookNotifier:
    """POSTs the alert as JSON; any non-2xx answer is a failure."""

    name = "webhook"

    def __init__(self, url: str, token: str | None = None, timeout_seconds: float = 5.0):
        self.url = url
        self.token = token
        self.timeout_seconds = timeout_seconds

    def send(self, alert: Alert) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "shelfguard-alerts"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=json.dumps(alert.payload()).encode("utf-8"),
                                         headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            response.read()


class SlackNotifier:
    """Posts to one channel through dagster-slack's `SlackResource`."""

    name = "slack"

    def __init__(self, slack: SlackResource, channel: str, api_url: str | None = None):
        self.slack = slack
        self.channel = channel
        self.api_url = api_url

    def send(self, alert: Alert) -> None:
        client = self.slack.get_client()
        if self.api_url:
            client.base_url = self.api_url
        client.chat_postMessage(channel=self.channel, text=_text(alert))


class EmailNotifier:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, recipients: Sequence[str], user: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout_seconds: float = 10.0):
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.user = user
        self.password = password
        self.starttls = starttls
        self.timeout_seconds = timeout_seconds

    def send(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"[shelfguard] {alert.message}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(_text(alert) + "\n\n" + json.dumps(alert.payload(), indent=2, sort_keys=True))
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


def _text(alert: Alert) -> str:
    lines = [alert.message, f"asset: {alert.asset}", f"contract: {alert.contract_id}"]
    for label, value in (("expected by", alert.expected_by), ("last delivery", alert.last_delivery),
                         ("delivery", alert.delivery_id)):
        if value is not None:
            lines.append(f"{label}: {value.isoformat() if isinstance(value, datetime) else value}")
    if alert.rule_ids:
        lines.append("rules: " + ", ".join(alert.rule_ids))
    return "\n".join(lines)


class DeliveryReport(BaseModel):
    """Which channels took an alert and which gave up, with the last error of each."""

    sent: list[str] = Field(default_factory=list, description="Channels that accepted the alert.")
    failed: dict[str, str] = Field(default_factory=dict, description="Channel → last error, after all tries.")


class NotifierConfigError(ValueError):
    """A chosen channel lacks a setting; reported like a send failure of that channel."""


class NotifierResource(dg.ConfigurableResource):
    """The alert channels, configured by environment variables (see docs/freshness.md)."""

    channels: str | None = Field(
        None, description="Comma-separated channels (log, webhook, slack, email); "
        "default: the SHELFGUARD_NOTIFIER environment variable, else log.")
    attempts: int = Field(3, description="Tries per channel and alert before giving up.")
    backoff_seconds: float = Field(0.5, description="Wait before the second try; doubled for each next one.")
    timeout_seconds: float = Field(5.0, description="Network timeout of one try.")

    def channel_names(self) -> list[str]:
        chosen = self.channels if self.channels is not None else os.environ.get("SHELFGUARD_NOTIFIER", "")
        names = [name.strip().lower() for name in chosen.split(",") if name.strip()] or ["log"]
        unknown = sorted(set(names) - set(CHANNELS))
        if unknown:
            expected = ", ".join(CHANNELS)
            raise NotifierConfigError(f"unknown notifier {', '.join(unknown)}; expected {expected}")
        return list(dict.fromkeys(names))

    def configured_channels(self) -> list[str]:
        """`channel_names()`, falling back to the log (with an error) when the setting is wrong."""
        try:
            return self.channel_names()
        except NotifierConfigError as exc:
            LOGGER.error("%s; alerts go to the log only", exc)
            return ["log"]

    def send(self, alert: Alert, channels: Sequence[str] | None = None) -> DeliveryReport:
        """Deliver to `channels` (default: the configured ones); failures are logged and returned."""
        report = DeliveryReport()
        for name in self.configured_channels() if channels is None else channels:
            error = self._send_with_retries(name, alert)
            if error is None:
                report.sent.append(name)
            else:
                report.failed[name] = error
                LOGGER.error("alert for %s via %s failed: %s", alert.asset, name, error)
        return report

    def _send_with_retries(self, name: str, alert: Alert) -> str | None:
        error = ""
        for attempt in range(max(1, self.attempts)):
            if attempt:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                self.notifier(name).send(alert)
                return None
            except NotifierConfigError as exc:
                return str(exc)
            except Exception as exc:  # network, HTTP, SMTP or slack_sdk errors: all are retried
                error = f"{type(exc).__name__}: {exc}"
        return error

    def notifier(self, name: str) -> Notifier:
        """Build one channel from the environment at send time, so settings can change without a reload."""
        if name == "log":
            return LogNotifier()
        if name == "webhook":
            token = os.environ.get("SHELFGUARD_WEBHOOK_TOKEN")
            return WebhookNotifier(_required("SHELFGUARD_WEBHOOK_URL"), token, self.timeout_seconds)
        if name == "slack":
            token = dg.EnvVar("SLACK_BOT_TOKEN").get_value()
            if not token:
                raise NotifierConfigError("SLACK_BOT_TOKEN is not set")
            return SlackNotifier(SlackResource(token=token), _required("SHELFGUARD_SLACK_CHANNEL"),
                                 os.environ.get("SHELFGUARD_SLACK_API_URL"))
        if name == "email":
            port = os.environ.get("SHELFGUARD_SMTP_PORT", "587")
            if not port.isdigit():
                raise NotifierConfigError(f"SHELFGUARD_SMTP_PORT {port!r} is not a port number")
            recipients = [a.strip() for a in _required("SHELFGUARD_SMTP_TO").split(",") if a.strip()]
            return EmailNotifier(
                _required("SHELFGUARD_SMTP_HOST"), int(port), _required("SHELFGUARD_SMTP_FROM"), recipients,
                os.environ.get("SHELFGUARD_SMTP_USER"), os.environ.get("SHELFGUARD_SMTP_PASSWORD"),
                os.environ.get("SHELFGUARD_SMTP_STARTTLS", "true").lower() in ("1", "true", "yes"),
                self.timeout_seconds,
            )
        raise NotifierConfigError(f"unknown notifier {name!r}")

    def send_gate_failure(self, retailer: str, asset: str, contract_id: str, delivery_id: str,
                          rule_ids: Sequence[str]) -> DeliveryReport:
        """Tell the channels that a delivery was blocked by its gate (called by the ingestion assets)."""
        rules = ", ".join(rule_ids) or "no rule id"
        return self.send(Alert(
            kind=AlertKind.GATE_BLOCKED, retailer=retailer, asset=asset, contract_id=contract_id,
            status="blocked", delivery_id=delivery_id, rule_ids=list(rule_ids),
            message=f"{retailer}: delivery {delivery_id} blocked by {rules}",
        ))


def _required(variable: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise NotifierConfigError(f"{variable} is not set")
    return value
