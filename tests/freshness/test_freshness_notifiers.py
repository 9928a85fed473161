"""Each alert channel against a real local server: webhook (HTTP), Slack (a local Slack Web API
stand-in reached by the real slack_sdk client of dagster-slack), e-mail (SMTP), and the log."""

from __future__ import annotations

import email
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from assets.definitions.resources.notifiers import Alert, AlertKind, NotifierResource

ALERT = Alert(kind=AlertKind.LATE, retailer="nwg_us", asset="bronze/nwg_us__pos_daily",
              contract_id="urn:shelfguard:retailer:nwg_us", status="late", lateness_seconds=60.0,
              message="nwg_us: bronze/nwg_us__pos_daily is late by 1m")


def test_log_is_the_default_channel(monkeypatch, caplog):
    monkeypatch.delenv("SHELFGUARD_NOTIFIER", raising=False)
    notifier = NotifierResource()
    with caplog.at_level("INFO", logger="shelfguard.alerts"):
        report = notifier.send(ALERT)
    assert report.sent == ["log"]
    [record] = [r for r in caplog.records if r.name == "shelfguard.alerts"]
    assert "is late by 1m" in record.getMessage()
    assert '"contract_id": "urn:shelfguard:retailer:nwg_us"' in record.getMessage()


def test_channels_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHELFGUARD_NOTIFIER", " webhook, Slack ,webhook")
    assert NotifierResource().channel_names() == ["webhook", "slack"]


def test_unknown_channel_falls_back_to_the_log(monkeypatch, caplog):
    monkeypatch.setenv("SHELFGUARD_NOTIFIER", "pager")
    with caplog.at_level("INFO", logger="shelfguard.alerts"):
        report = NotifierResource().send(ALERT)
    assert report.sent == ["log"]
    assert any("unknown notifier pager" in r.getMessage() for r in caplog.records)


def test_a_channel_without_its_settings_fails_at_once_and_is_reported(monkeypatch, webhook):
    monkeypatch.delenv("SHELFGUARD_WEBHOOK_URL", raising=False)
    report = NotifierResource(channels="webhook,log").send(ALERT)
    assert report.sent == ["log"]
    assert report.failed == {"webhook": "SHELFGUARD_WEBHOOK_URL is not set"}


def test_gate_failure_goes_through_the_same_channels(monkeypatch, webhook):
    monkeypatch.setenv("SHELFGUARD_WEBHOOK_URL", webhook.url)
    report = NotifierResource(channels="webhook").send_gate_failure(
        retailer="alp_de", asset="bronze/alp_de__sales", contract_id="urn:shelfguard:retailer:alp_de",
        delivery_id="alp_de/sales/20250303", rule_ids=["units_not_negative", "ean_format"])
    assert report.sent == ["webhook"]
    [body] = webhook.received
    assert body["kind"] == "gate_blocked"
    assert body["status"] == "blocked"
    assert body["delivery_id"] == "alp_de/sales/20250303"
    assert body["rule_ids"] == ["units_not_negative", "ean_format"]


@pytest.fixture
def slack_api() -> Iterator[dict]:
    """A local server answering Slack's chat.postMessage as Slack does."""
    seen: dict = {"posts": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            form = {key: values[0] for key, values in parse_qs(body).items()}
            fields = json.loads(body) if body.startswith("{") else form
            seen["posts"].append({"path": self.path, "auth": self.headers.get("Authorization"), **fields})
            answer = json.dumps({"ok": True, "channel": fields.get("channel"), "ts": "1.0"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen["url"] = f"http://127.0.0.1:{server.server_address[1]}/api/"
    yield seen
    server.shutdown()
    server.server_close()


def test_slack_posts_through_dagster_slack(monkeypatch, slack_api):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SHELFGUARD_SLACK_CHANNEL", "#pos-alerts")
    monkeypatch.setenv("SHELFGUARD_SLACK_API_URL", slack_api["url"])
    report = NotifierResource(channels="slack").send(ALERT)
    assert report.sent == ["slack"], report.failed
    [post] = slack_api["posts"]
    assert post["path"] == "/api/chat.postMessage"
    assert post["auth"] == "Bearer xoxb-test"
    assert post["channel"] == "#pos-alerts"
    assert "bronze/nwg_us__pos_daily is late by 1m" in post["text"]


def test_slack_without_token_is_reported(monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    report = NotifierResource(channels="slack").send(ALERT)
    assert report.failed == {"slack": "SLACK_BOT_TOKEN is not set"}


@pytest.fixture
def smtp_server() -> Iterator[dict]:
    """A minimal SMTP server on 127.0.0.1 that keeps every message it is given."""
    seen: dict = {"messages": []}

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 localhost ESMTP test\r\n")
            data: list[bytes] | None = None
            for line in self.rfile:
                if data is not None:
                    if line.rstrip(b"\r\n") == b".":
                        seen["messages"].append(b"".join(data))
                        data = None
                        self.wfile.write(b"250 queued\r\n")
                    else:
                        data.append(line)
                    continue
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    self.wfile.write(b"250 localhost\r\n")
                elif verb == b"DATA":
                    data = []
                    self.wfile.write(b"354 end with .\r\n")
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen["port"] = server.server_address[1]
    yield seen
    server.shutdown()
    server.server_close()


def test_email_is_sent_over_smtp(monkeypatch, smtp_server):
    monkeypatch.setenv("SHELFGUARD_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SHELFGUARD_SMTP_PORT", str(smtp_server["port"]))
    monkeypatch.setenv("SHELFGUARD_SMTP_FROM", "shelfguard@example.test")
    monkeypatch.setenv("SHELFGUARD_SMTP_TO", "oncall@example.test, data@example.test")
    monkeypatch.setenv("SHELFGUARD_SMTP_STARTTLS", "false")
    report = NotifierResource(channels="email").send(ALERT)
    assert report.sent == ["email"], report.failed
    [raw] = smtp_server["messages"]
    message = email.message_from_bytes(raw)
    assert message["Subject"] == "[shelfguard] nwg_us: bronze/nwg_us__pos_daily is late by 1m"
    assert message["To"] == "oncall@example.test, data@example.test"
    assert '"retailer": "nwg_us"' in message.get_payload(decode=True).decode()
