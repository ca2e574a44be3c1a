"""Test helpers: a client shaped like the example scripts, sample items, test configs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from ldtransform import ld
from ldtransform.ld import ExportField, ImportField, is_terminal
from ldtransform.server.config import config_from_dict

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "samples" / "schemas"
ACCOUNTS = ROOT / "samples" / "accounts.items.json"

#: Users and clients of the test servers: two communities, one user in both.
AUTH = {
    "users": [
        {"name": "demo", "password": "demo", "communities": ["Demo"]},
        {"name": "alice", "password": "alice-pw-7Qx", "communities": ["Acme"]},
        {"name": "both", "password": "both-pw", "communities": ["Demo", "Acme"]},
    ],
    "clients": [{"client_id": "ldtransform", "client_secret": "ldtransform"}],
}


def account(n: int, **changes: Any) -> dict[str, Any]:
    """A minimal valid Account envelope."""
    data = {"accountId": f"A{n:06d}", "name": f"Account {n}",
            "accountClass": "/Account/accountClass[invoiced]", "currency": "USD",
            "exposure": float(n), "creditBlock": n % 2 == 0}
    data.update(changes)
    return {"headers": {"category": "entity", "type": "Account", "action": "Create"},
            "data": data}


class LD:
    """Requests as the example scripts make them: form posts, multipart, bearer tokens."""

    def __init__(self, url: str, data_dir: Path, user: str = "demo",
                 password: str = "demo", community: str = "Demo") -> None:
        self.url = url
        self.data_dir = data_dir
        self.http = httpx.Client(base_url=url, timeout=30)
        self.token = self.get_token(user, password, community)

    def get_token(self, user: str, password: str, community: str) -> str:
        r = self.http.post(ld.TOKEN, data={
            "grant_type": "password", "client_id": "ldtransform",
            "client_secret": "ldtransform", "username": user, "password": password,
            "scope": f"community={community}"})
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token}

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.http.post(path, headers=headers, **kwargs)

    def import_(self, content: bytes | str | Path, *, item_type: str = "Account",
                content_type: str = "application/json", filename: str = "data.json",
                **fields: Any) -> dict[str, Any]:
        if isinstance(content, Path):
            content = content.read_bytes()
        if not isinstance(content, bytes | str):
            content = json.dumps(content)
        files: dict[str, Any] = {
            ImportField.FILE: (filename, content, content_type, {"Expires": "0"})}
        template = fields.pop("template_file", None)
        if template is not None:
            files[ImportField.TEMPLATE] = ("template.json", template, "application/json",
                                 {"Expires": "0"})
        data = {ImportField.JOB_NAME: "Test Import", ImportField.ITEM_TYPE: item_type,
                ImportField.CONTENT_TYPE: content_type, **fields}
        r = self.post(ld.IMPORT, files=files,
                      data={k: str(v) for k, v in data.items() if v is not None})
        assert r.status_code == 200, r.text
        status: dict[str, Any] = r.json()
        return status

    def export(self, **fields: Any) -> dict[str, Any]:
        data = {ExportField.JOB_NAME: "Test Export", ExportField.ITEM_TYPE: "Account",
                ExportField.CONTENT_TYPE: "application/json", **fields}
        r = self.post(ld.EXPORT,
                      data={k: str(v) for k, v in data.items() if v is not None})
        assert r.status_code == 200, r.text
        status: dict[str, Any] = r.json()
        return status

    def status(self, job_id: str) -> dict[str, Any]:
        r = self.post(ld.STATUS, data={ld.JOB_ID: job_id})
        assert r.status_code == 200, r.text
        status: dict[str, Any] = r.json()
        return status

    def wait(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if is_terminal(status["status"]):
                return status
            assert time.monotonic() < deadline, f"job still {status['status']}"
            time.sleep(0.05)

    def run_import(self, content: Any, **kwargs: Any) -> dict[str, Any]:
        return self.wait(self.import_(content, **kwargs)["jobId"])

    def run_export(self, **fields: Any) -> dict[str, Any]:
        return self.wait(self.export(**fields)["jobId"])

    def download(self, link: str) -> httpx.Response:
        return self.http.get(link, headers=self.auth)

    def exported_items(self, status: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for link in status["links"]:
            r = self.download(link)
            assert r.status_code == 200
            items.extend(r.json())
        return items

    def upsert(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        r = self.post(ld.UPSERT, content=json.dumps(items),
                      headers={**self.auth, "Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def all_items(self, item_type: str = "Account") -> dict[str, dict[str, Any]]:
        """Every live item by key, through the updates API."""
        found: dict[str, dict[str, Any]] = {}
        after, last = 0, ""
        while True:
            r = self.post(ld.UPDATES, data={
                "itemType": item_type, "processedAfter": after, "lastId": last, "max": 500})
            page = r.json()
            for item in page["items"]:
                key = item["data"].get("accountId") or item["data"].get("attendeeId")
                if item["headers"].get("action") == "Delete":
                    found.pop(key, None)
                else:
                    found[key] = item
            if len(page["items"]) < 500:
                return found
            after, last = page["maxProcessedAt"], page["lastId"]


def outbox(ld: LD, job_id: str, timeout: float = 10) -> bytes:
    """The notification of a job (written just after the job reaches its final status)."""
    path = ld.data_dir / "outbox" / f"{job_id}.eml"
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"no notification for job {job_id}"
        time.sleep(0.05)
    return path.read_bytes()


def make_config(**sections: Any) -> Any:
    """A ServerConfig from TOML-like sections (auth defaults to the test users)."""
    doc = {"auth": AUTH, **sections}
    return config_from_dict(doc)


