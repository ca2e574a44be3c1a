"""Job notifications: an e-mail message per finished job with a ``notificationEmail``.

The message is always written to ``<data>/outbox/<jobId>.eml`` (so a test or a user can
read it) and is also sent over SMTP when ``[notifications] smtp_host`` is configured.
"""

from __future__ import annotations

import logging
import smtplib
import sqlite3
from email.message import EmailMessage

import orjson

from ldtransform.server.config import ServerConfig
from ldtransform.server.jobview import job_status
from ldtransform.server.store import Store

__all__ = ["notify"]

log = logging.getLogger("ldtransform.server")


def _body(status: dict[str, object]) -> str:
    lines = [f"Batch {status['jobType']} job {status['jobName']!r} ({status['jobId']}) "
             f"ended: {status['status']}.", "", f"Reason: {status['reason']}",
             f"Item type: {status['itemType']}",
             f"Records processed: {status['recordsProcessed']}",
             f"Records rejected: {status['recordsRejected']}"]
    if "rejectionFile" in status:
        lines.append(f"Rejected records: {status['rejectionFile']}")
    links = status.get("links")
    if isinstance(links, list) and links:
        lines += ["", f"Download the results (links expire {status.get('linksExpire')}):"]
        lines += [f"  {link}" for link in links]
    return "\n".join(lines) + "\n"


def notify(config: ServerConfig, store: Store, job: sqlite3.Row, base_url: str) -> None:
    """Write (and, if configured, send) the notification for a finished job."""
    status = job_status(job, store, base_url)
    message = EmailMessage()
    message["From"] = config.smtp_sender
    message["To"] = job["notification_email"]
    name = " ".join(str(status["jobName"]).split())[:120]  # no line breaks in a header
    message["Subject"] = f"LD batch job {name}: {status['status']}"
    message["X-LD-Job-Id"] = job["job_id"]
    message.set_content(_body(status))
    message.add_attachment(orjson.dumps(status, option=orjson.OPT_INDENT_2),
                           maintype="application", subtype="json", filename="status.json")
    (store.outbox() / f"{job['job_id']}.eml").write_bytes(message.as_bytes())
    if config.smtp_host:
        try:
            with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=30) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException):
            log.warning("cannot send the notification of job %s through %s:%s",
                        job["job_id"], config.smtp_host, config.smtp_port)
