"""The Files API of the fake Gemini server (Developer API): upload, get, list, delete.

Both SDKs upload with a resumable protocol, each its own way, to ``/upload/v1beta/files``:

* google-genai: ``POST`` with ``X-Goog-Upload-Protocol: resumable``, ``X-Goog-Upload-Command:
  start``, ``X-Goog-Upload-Header-Content-Type/-Length`` and a JSON body ``{"file": {...}}``; the
  answer's ``X-Goog-Upload-URL`` header is where it then ``POST``s the bytes (``upload, finalize``)
  and reads ``{"file": {...}}`` back when ``X-Goog-Upload-Status`` is ``final``.
* google-generativeai 0.8.6: googleapiclient, built from the discovery document it fetches first
  (``GET /$discovery/rest?version=v1beta``; served here with this server as ``rootUrl``):
  ``POST ...?uploadType=resumable`` with ``X-Upload-Content-Type/-Length`` and the same JSON body,
  then a ``PUT`` of the bytes to the answer's ``Location``; it then reads the file back with a
  ``GET /v1beta/files/{id}`` of its own.

Recorded verbs (``api="developer"``, ``model=None``): ``files.discovery``, ``files.upload`` (the
start, body = the metadata), ``files.upload.data`` (the bytes), ``files.get``, ``files.list``,
``files.delete``; ``RecordedRequest.resource`` holds the file name where there is one. Every file
is ``ACTIVE``; its URI names the real API host (the SDKs never fetch it), so programs print the
same URI whichever server answered. IDs are a hash of the bytes, display name, MIME type and upload order.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

UPLOAD_PATH = re.compile(r"^/upload/(?P<ver>v1beta|v1alpha|v1)/files$")
FILE_PATH = re.compile(r"^/(?P<ver>v1beta|v1alpha|v1)/files(?:/(?P<id>[^/:]+))?$")
DISCOVERY_PATH = "/$discovery/rest"
URI_ROOT = "https://generativelanguage.googleapis.com/v1beta/"
FIXED_TIME = "2026-11-24T10:00:00.123456Z"
EXPIRES = "2026-11-26T10:00:00.123456Z"


@dataclass
class Upload:
    metadata: dict[str, Any]
    mime_type: str


@dataclass
class FileStore:
    """The files one server holds, in upload order, and the upload sessions under way."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, Upload] = field(default_factory=dict)

    def start(self, body: Any, headers: dict[str, str]) -> str:
        raw = dict(body.get("file") or {}) if isinstance(body, dict) else {}
        metadata = {_camel(k): v for k, v in raw.items()}  # google-genai 2.x sends snake_case keys here
        mime = headers.get("x-goog-upload-header-content-type") or headers.get("x-upload-content-type") or metadata.get("mimeType", "")
        session = hashlib.sha256(f"{len(self.sessions)}:{sorted(metadata.items())}".encode()).hexdigest()[:16]
        self.sessions[session] = Upload(metadata, mime)
        return session

    def finish(self, session: str, data: bytes) -> dict[str, Any] | None:
        upload = self.sessions.pop(session, None)
        if upload is None:
            return None
        meta = upload.metadata
        digest = hashlib.sha256(data).digest()
        mime = upload.mime_type or meta.get("mimeType", "application/octet-stream")
        seed = f"{meta.get('displayName', '')}\n{mime}\n{len(self.files)}".encode()
        name = meta.get("name") or "files/" + hashlib.sha256(digest + seed).hexdigest()[:12]
        file = {
            "name": name,
            "mimeType": mime,
            "sizeBytes": str(len(data)),
            "createTime": FIXED_TIME,
            "updateTime": FIXED_TIME,
            "expirationTime": EXPIRES,
            "sha256Hash": base64.b64encode(digest.hex().encode()).decode(),
            "uri": URI_ROOT + name,
            "state": "ACTIVE",
            "source": "UPLOADED",
        }
        if meta.get("displayName"):
            file["displayName"] = meta["displayName"]
        self.files[name] = file
        return file

    def page(self, size: int, token: str) -> dict[str, Any]:
        names = list(self.files)
        start = int(token or 0)
        body: dict[str, Any] = {"files": [self.files[n] for n in names[start:start + size]]}
        if start + size < len(names):
            body["nextPageToken"] = str(start + size)
        return body


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def discovery_document(root: str) -> dict[str, Any]:
    """The part of the generativelanguage discovery document that googleapiclient needs to upload."""
    file_schema = {"id": "File", "type": "object", "properties": {
        "name": {"type": "string"}, "displayName": {"type": "string"}, "mimeType": {"type": "string"}}}
    return {
        "kind": "discovery#restDescription", "discoveryVersion": "v1", "id": "generativelanguage:v1beta",
        "name": "generativelanguage", "version": "v1beta", "rootUrl": root.rstrip("/") + "/", "servicePath": "",
        "baseUrl": root.rstrip("/") + "/", "basePath": "", "batchPath": "batch", "protocol": "rest",
        "parameters": {"key": {"type": "string", "location": "query"}, "alt": {"type": "string", "location": "query", "default": "json"}},
        "resources": {"media": {"methods": {"upload": {
            "id": "generativelanguage.media.upload", "path": "v1beta/files", "flatPath": "v1beta/files",
            "httpMethod": "POST", "parameters": {}, "parameterOrder": [],
            "request": {"$ref": "CreateFileRequest"}, "response": {"$ref": "CreateFileResponse"},
            "supportsMediaUpload": True,
            "mediaUpload": {"accept": ["*/*"], "protocols": {
                "simple": {"multipart": True, "path": "/upload/v1beta/files"},
                "resumable": {"multipart": True, "path": "/resumable/upload/v1beta/files"}}},
        }}}},
        "schemas": {
            "CreateFileRequest": {"id": "CreateFileRequest", "type": "object", "properties": {"file": {"$ref": "File"}}},
            "CreateFileResponse": {"id": "CreateFileResponse", "type": "object", "properties": {"file": {"$ref": "File"}}},
            "File": file_schema,
        },
    }
