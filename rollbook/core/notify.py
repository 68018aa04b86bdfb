"""Notifications through Apprise (an Apprise URL, or any ``http(s)`` address, posted in Slack's shape):
an emergency override before its change, a drift check that failed, and the end of a run whose outcome
needs a human (``rollbook.core.run_notice``)::

    run.authorization["notification"] = emergency(run, "https://hooks.slack.com/services/T0/B0/x")  # 'sent'
    drift_failed("https://chat.example/hooks/rollbook", "inventories/prod.py", report)                 # 'sent'
    post("https://chat.example/hooks/rollbook", "rollbook: run ... needs a human: ...")                # 'sent'
"""

import logging
import os
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlsplit

from .runs import SESSION, HostRun

# Apprise's JSON payload reshaped to Slack's: drop version/title/type, send the message as "text"
SLACK_SHAPE = ":version=&:title=&:type=&:attachments=&:message=text"

WEBHOOK_VARIABLE = "ROLLBOOK_NOTIFY_WEBHOOK"  # the drift check's webhook when --notify is not given


def drift_webhook(given: str | None) -> str | None:
    """The webhook a drift check notifies: ``given`` (``--notify``), else ``ROLLBOOK_NOTIFY_WEBHOOK``'s,
    else None. The variable is taken out of the environment either way (pyinfra and ssh never see it)."""
    from_environment = os.environ.pop(WEBHOOK_VARIABLE, None)
    return given or from_environment or None


def emergency(run: HostRun, url: str | None) -> str:
    """Notify ``url`` of the emergency run (once per run); say what happened."""
    if not url:
        return "pending (no webhook configured): notify by hand"
    auth = run.authorization
    return SESSION.once(("notified", url), lambda: post(  # one call for all hosts
        url, f"rollbook: {auth.get('level')} emergency {run.kind} of {run.system} in {run.environment} by "
             f"{run.operator} (on call): {auth.get('reason')} [run {run.run_id}, {run.deploy}, scope "
             + " ".join(f"{key}={value}" for key, value in sorted(run.scope.items())) + "]"))


def drift_failed(url: str, inventory: str, report) -> str:
    """Notify ``url`` that a drift check failed (drift found is Prometheus's alert, not a message)."""
    return post(url, f"rollbook: the drift check of {inventory} failed: {report.error}")


def target(url: str) -> str:
    """The Apprise URL ``url`` names: an Apprise URL as it is, an http(s) address as a JSON POST in Slack's shape::

        target("https://chat.example/hooks/rollbook")
        # 'jsons://chat.example/hooks/rollbook?:version=&:title=&:type=&:attachments=&:message=text'
    """
    import apprise

    with _quiet():
        if apprise.Apprise.instantiate(url, suppress_exceptions=True):
            return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"rollbook_notify_webhook: not an Apprise or http(s) URL: {parts.scheme}://…")
    passed = "".join(f"&-{quote(key)}={quote(value)}" for key, value in parse_qsl(parts.query))
    scheme = "jsons" if parts.scheme == "https" else "json"
    return f"{scheme}://{parts.netloc}{parts.path or '/'}?{SLACK_SHAPE}{passed}"


def post(url: str, text: str) -> str:
    """Send ``text`` to ``url`` through Apprise; say what happened (never raises, never shows the URL)."""
    import apprise

    try:
        notifier = apprise.Apprise()
        with _quiet():
            if not notifier.add(target(url)):
                return "failed (Apprise does not accept this URL): notify by hand"
        with _quiet(), apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as said:
            sent = notifier.notify(body=text, body_format=apprise.NotifyFormat.TEXT)
    except ValueError as error:  # target(): says the scheme only
        return f"failed ({error}): notify by hand"
    except Exception as error:  # a notification never fails the run; the record says it did not go out
        return f"failed ({type(error).__name__}): notify by hand"
    if sent:
        return "sent"
    reason = (said.getvalue().strip().splitlines() or ["no answer"])[0]
    return f"failed ({reason[:200]}): notify by hand"


@contextmanager
def _quiet():
    """Apprise's own log lines stay out of rollbook's output (they can hold the webhook's address)."""
    logger, silent = logging.getLogger("apprise"), logging.NullHandler()
    propagate = logger.propagate
    logger.propagate = False
    logger.addHandler(silent)
    try:
        yield
    finally:
        logger.removeHandler(silent)
        logger.propagate = propagate
