"""What a scan or job request may carry, read the same way by /v1/scan and /v1/jobs:

- JSON: ``{"text": ...}``, ``{"data": BASE64, "name": ...}`` or ``{"url": ...}`` (a ``data:`` URL,
  or http(s) where the operator turned fetching on), with ``profile`` and ``labels``;
- a multipart form: a ``file`` (or a ``text`` field), ``profile``, ``labels`` (comma-separated);
- any other body: the raw bytes of the file, with ``name``, ``profile``, ``labels`` in the query.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from dataclasses import dataclass
from typing import IO, Annotated, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tamis.content.base import printable
from tamis.errors import EmptyInputError
from tamis.service.errors import ServiceError
from tamis.service.fetch import Fetcher

Labels = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)]


class ScanOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: str | None = Field(None, max_length=128, description="A profile of the service's policy.")
    labels: Labels | None = Field(None, description="Report only these labels (and their sub-labels).")


class ScanBody(ScanOptions):
    """One input: a text, a file's bytes in base64, or a URL of the file."""

    text: str | None = Field(None, description="A text to scan.")
    data: str | None = Field(None, description="A file (image, document, short video for jobs) in base64.")
    url: str | None = Field(None, description="A URL of the file: data:, or http(s) where the operator allows "
                            "fetching (setting fetch_hosts).")
    name: str | None = Field(None, max_length=512, description="A name for the input, shown in results.")
    webhook_url: str | None = Field(None, max_length=2048,
                                    description="Jobs only: where to POST the outcome (a host the operator allows).")

    @model_validator(mode="after")
    def _one_input(self) -> ScanBody:
        if sum(x is not None for x in (self.text, self.data, self.url)) != 1:
            raise ValueError("give exactly one of 'text', 'data' and 'url'")
        return self


class TextItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=512)
    text: str


class TextsBody(ScanOptions):
    """Many short texts, scanned in batches; a bad one gives an error result, not a failed request."""

    texts: list[str | TextItem] = Field(..., min_length=1)


@dataclass
class ScanInput:
    name: str
    text: str | None = None
    data: bytes | None = None
    #: A file the upload was spooled to (multipart or raw), read from the start.
    file: IO[bytes] | None = None
    profile: str | None = None
    labels: list[str] | None = None
    webhook_url: str | None = None
    #: A URL of the file, read by :meth:`fetch`.
    url: str | None = None

    def fetch(self, fetcher: Fetcher, max_bytes: int) -> None:
        """Read the URL the input names, if any, into :attr:`file` (blocking: call it in a thread)."""
        if self.url is not None:
            self.file = fetcher.open(self.url, max_bytes)

    def close(self) -> None:
        """Close a fetched file now (an upload's is closed with its request)."""
        if self.url is not None and self.file is not None:
            self.file.close()

    def read(self) -> bytes | None:
        if self.url is not None and self.file is None:  # a route that does not fetch
            raise ServiceError("url_not_allowed", "this route takes no 'url': send the file itself")
        if self.file is not None:
            self.file.seek(0)
            return self.file.read()
        return self.data


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], raw: bytes | dict) -> M:
    """A request body (JSON bytes, or an object already read) as ``model``; a body of
    another shape is the same 422 ``invalid_request`` FastAPI gives its own bodies."""
    try:
        return model.model_validate_json(raw) if isinstance(raw, bytes) else model.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None


def _url_name(url: str) -> str:
    """A URL as the name of its input, without its query or fragment (where tokens go)."""
    if url[:5].lower() == "data:":
        return "upload"
    return printable(url.split("#")[0].split("?")[0])[:512]


def _labels(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    return [x.strip() for x in raw.split(",") if x.strip()][:64]


async def read_scan(request: Request) -> ScanInput:
    """The input of a scan or job request (its size is bounded as it streams in, by
    :class:`~tamis.service.middleware.BodyLimit`)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        body = parse(ScanBody, await request.body())
        name = printable(body.name or ("<text>" if body.text is not None else "upload"))[:512]
        if body.text is not None:
            return ScanInput(name, text=body.text, profile=body.profile, labels=body.labels,
                             webhook_url=body.webhook_url)
        if body.url is not None:
            return ScanInput(name if body.name else _url_name(body.url), url=body.url, profile=body.profile,
                             labels=body.labels, webhook_url=body.webhook_url)
        try:
            data = base64.b64decode(body.data, validate=True)
        except (binascii.Error, ValueError):
            raise ServiceError("invalid_request", "'data' is not valid base64") from None
        return ScanInput(name, data=data, profile=body.profile, labels=body.labels, webhook_url=body.webhook_url)
    if ctype == "multipart/form-data":
        return await _read_form(request)
    if ctype == "application/x-www-form-urlencoded":
        raise ServiceError("invalid_request", "send a file as multipart/form-data, JSON, or the raw body")
    return await _read_raw(request)


async def _read_form(request: Request) -> ScanInput:
    form = await request.form(max_files=1, max_fields=8)
    profile, labels, hook = form.get("profile"), _labels(form.get("labels")), form.get("webhook_url")
    if hook is not None and (not isinstance(hook, str) or len(hook) > 2048):
        raise ServiceError("invalid_request", "webhook_url: a URL of at most 2,048 characters")
    upload, text = form.get("file"), form.get("text")
    if isinstance(profile, str) and len(profile) > 128:
        raise ServiceError("invalid_request", "profile: at most 128 characters")
    if (upload is None) == (text is None):
        raise ServiceError("invalid_request", "give exactly one of the form fields 'file' and 'text'")
    if text is not None:
        if not isinstance(text, str):
            raise ServiceError("invalid_request", "'text' must be a form field, not a file")
        return ScanInput("<text>", text=text, profile=profile or None, labels=labels, webhook_url=hook)
    if isinstance(upload, str):
        raise ServiceError("invalid_request", "'file' must be a file part (filename=...), not a plain field")
    return ScanInput(printable(upload.filename or "upload")[:512], file=upload.file,
                     profile=profile or None, labels=labels, webhook_url=hook)


async def _read_raw(request: Request) -> ScanInput:
    q = request.query_params
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    async for chunk in request.stream():
        spool.write(chunk)
    if spool.tell() == 0:
        raise EmptyInputError("the request has no body: send the file, or JSON with 'text' or 'data'")
    return ScanInput(printable(q.get("name", "upload")[:512])[:512], file=spool, profile=q.get("profile") or None,
                     labels=_labels(q.get("labels")), webhook_url=q.get("webhook_url", "")[:2048] or None)


#: The request bodies /v1/scan and /v1/jobs accept, for the OpenAPI document.
OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ScanBody.model_json_schema()},
            "multipart/form-data": {"schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}, "text": {"type": "string"},
                               "profile": {"type": "string"}, "webhook_url": {"type": "string"},
                               "labels": {"type": "string", "description": "comma-separated"}}}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    "parameters": [
        {"name": "name", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "raw body only: a name for the input"},
        {"name": "profile", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "labels", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "raw body only: labels to report, comma-separated"},
        {"name": "webhook_url", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "raw body, jobs only: where to POST the outcome"},
    ],
}


def inline_schema(schema: dict) -> dict:
    """A pydantic model's JSON Schema with its ``$defs`` written in place: in an OpenAPI
    document ``#/$defs/...`` would point at the document's root, not at the schema. (A
    ``discriminator``, whose mapping names those $defs, is left out: it is only a hint, the
    ``oneOf`` under it says the same.) For models that do not refer to themselves."""
    defs = schema.get("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node and node["$ref"].startswith("#/$defs/"):
                return walk(defs[node["$ref"].removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()
                    if k != "$defs" and not (k == "discriminator" and isinstance(v, dict) and "propertyName" in v)}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def json_body(model: type[BaseModel]) -> dict:
    """``openapi_extra`` declaring a JSON body of ``model`` (for routes that parse their body
    themselves, with :func:`parse`)."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_schema(model.model_json_schema())}}}}
