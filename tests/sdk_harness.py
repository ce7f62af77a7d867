"""Run user-style programs with the real Gemini SDKs against ``FakeGemini``; compare the wire.

The program under test contains no test code. ``run_program`` starts it in a subprocess whose
``PYTHONPATH`` is ``tests/sdk_shim``: its ``sitecustomize`` redirects all three SDKs to
``$FAKE_GEMINI_URL`` (see that file for what each SDK needed) and blocks name resolution of
anything but the loopback. The environment carries dummy credentials (``GOOGLE_API_KEY``,
``GOOGLE_CLOUD_PROJECT=fake-project``, ``GOOGLE_CLOUD_LOCATION=us-central1``); inherited
``GOOGLE_*`` / ``GEMINI_*`` / proxy variables are removed so nothing leaks to a real endpoint.

Cost: a program that imports google-generativeai or google-genai takes ~0.5 s, one that imports
``vertexai`` ~1.8 s (imports dominate); a bare interpreter ~0.03 s. ``run_programs`` runs a
batch on a thread pool, one ``FakeGemini`` per program.

Not covered: gRPC (both legacy SDKs are forced onto REST), the legacy Files API (its discovery
URL is hard-coded), and the legacy GAPIC retry on 503 (default deadline 600 s: do not script a
persistent 503 for a legacy program).

Usage::

    from fake_gemini import FakeGemini
    from sdk_harness import run_program, run_programs, assert_migration_equivalent

    with FakeGemini() as srv:
        before = run_program("tests/programs/legacy_genai_generate.py", srv)
        after = run_program("tests/programs/new_genai_generate.py", srv)
    assert_migration_equivalent(before, after, target_model="gemini-2.5-flash-lite")

    before, after = run_programs([p1, p2])      # in parallel, one FakeGemini per program

The oracle: ``canonical_request`` turns one recorded request into an SDK-independent dict;
``assert_wire_equivalent`` compares two request sequences pairwise, model aside, and checks every
migrated request names the target model. The normalisations are exactly the serialisation
differences observed between google-generativeai 0.8.6 / google-cloud-aiplatform 2.7.0 (proto-JSON
over REST, ``$alt=json;enum-encoding=int``) and google-genai 2.34 (pydantic JSON); see
``canonical_request``. Anything else (a dropped temperature, another threshold, a missing system
instruction, extra history, a different project) stays a difference.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from fake_gemini import FakeGemini, RecordedRequest

HERE = Path(__file__).resolve().parent
SHIM_DIR = HERE / "sdk_shim"
PROGRAMS_DIR = HERE / "programs"

__all__ = [
    "ProgramRun", "run_program", "run_programs", "program_env", "canonical_request",
    "assert_wire_equivalent", "assert_migration_equivalent", "wire_diff", "PROGRAMS_DIR",
]

# Environment variables that could send an SDK somewhere else or change its mode.
_SCRUB_PREFIXES = ("GOOGLE_", "GEMINI_", "VERTEX", "CLOUDSDK_", "GCLOUD_", "FAKE_GEMINI_")
_SCRUB_EXACT = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "PYTHONSTARTUP", "PYTHONHOME", "PYTHONPATH", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"}


# --------------------------------------------------------------------------------------------
# Running programs


@dataclass
class ProgramRun:
    """Outcome of one program run. ``requests`` are the ones the server recorded meanwhile."""

    stdout: str
    stderr: str
    returncode: int
    requests: list[RecordedRequest] = field(default_factory=list)
    seconds: float = 0.0
    program: str = ""
    timed_out: bool = False

    def check(self) -> "ProgramRun":
        """Raise with the program's stderr if it failed."""
        if self.returncode != 0:
            raise AssertionError(f"{self.program} exited {self.returncode}"
                                 f"{' (timeout)' if self.timed_out else ''}\n--- stderr ---\n{self.stderr[-4000:]}")
        return self


def program_env(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a program runs with (scrubbed, pointed at ``url``).

    In ``extra`` values, ``{url}`` stands for ``url`` (a program that reads its endpoint from its
    own variable, e.g. ``client_options={"api_endpoint": os.environ["GEMINI_API_ENDPOINT"]}``, gets
    the fake server's address when run through ``run_programs``, where each run has its own server).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB_EXACT}
    env.update({
        "PYTHONPATH": str(SHIM_DIR),
        "FAKE_GEMINI_URL": url,  # the shim swaps google-genai's *.googleapis.com base URL for it
        # Only GOOGLE_API_KEY: with GEMINI_API_KEY as well google-genai logs a warning on stderr.
        "GOOGLE_API_KEY": "fake-api-key",
        "GOOGLE_CLOUD_PROJECT": "fake-project",
        "GOOGLE_CLOUD_LOCATION": "us-central1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
    })
    env.update({k: v.replace("{url}", url) for k, v in (extra or {}).items()})
    return env


def _is_source(program: str | os.PathLike) -> bool:
    return isinstance(program, str) and ("\n" in program or not program.endswith(".py"))


def run_program(program: str | os.PathLike, server: FakeGemini | None = None, *,
                env: dict[str, str] | None = None, args: Sequence[str] = (), timeout: float = 120.0,
                python: str | None = None) -> ProgramRun:
    """Run ``program`` (a path to a ``.py`` file, or Python source) against ``server``.

    Without ``server`` a fresh ``FakeGemini`` is used for this run. The server's recorded
    requests are cleared first (its configuration is kept), so one server must serve one run at
    a time. A timeout kills the program and returns ``returncode=-9, timed_out=True``.
    """
    if server is None:
        with FakeGemini() as srv:
            return run_program(program, srv, env=env, args=args, timeout=timeout, python=python)
    tmp_path = None
    if _is_source(program):
        fd, tmp_path = tempfile.mkstemp(suffix=".py", prefix="sdk_program_")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(str(program))
        path = Path(tmp_path)
        label = "<source>"
    else:
        path = Path(program).resolve()
        label = str(program)
    server.clear_requests()
    t0 = time.perf_counter()
    timed_out = False
    try:
        proc = subprocess.Popen([python or sys.executable, str(path), *args], env=program_env(server.url, env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                errors="replace", cwd=str(path.parent), stdin=subprocess.DEVNULL)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            timed_out = True
            err += f"\n[sdk_harness] killed after {timeout}s"
    finally:
        if tmp_path is not None:
            os.unlink(tmp_path)
    return ProgramRun(out, err, -9 if timed_out else proc.returncode, list(server.requests),
                      time.perf_counter() - t0, label, timed_out)


Setup = Callable[[FakeGemini], None]


def run_programs(programs: Iterable[str | os.PathLike | tuple[Any, ...]], *,
                 workers: int | None = None, setup: Setup | None = None, **kwargs: Any) -> list[ProgramRun]:
    """Run programs in parallel, each against its own ``FakeGemini``; results in input order.

    An item is a program (path or source), ``(program, setup)`` or ``(program, setup, env)``;
    ``setup(server)`` configures that program's server before the run (the ``setup`` argument is
    the default for plain items; ``None`` is allowed) and ``env`` is added over the ``env`` keyword
    argument for that program only. Other keyword arguments go to ``run_program``. ``workers``
    defaults to the CPU count (SDK start-up is CPU bound).
    """
    programs = list(programs)

    def one(item: Any) -> ProgramRun:
        program, prep, extra_env = (*item, None)[:3] if isinstance(item, tuple) else (item, setup, None)
        options = dict(kwargs)
        if extra_env:
            options["env"] = {**(kwargs.get("env") or {}), **extra_env}
        with FakeGemini() as srv:
            if prep is not None:
                prep(srv)
            return run_program(program, srv, **options)

    n = max(1, min(len(programs), workers or os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, programs))


# --------------------------------------------------------------------------------------------
# Canonical view of a request (the wire-equivalence oracle)

# Proto enum numbers as sent by the legacy REST transports (`enum-encoding=int`). Checked against
# the installed google-ai-generativelanguage / google-cloud-aiplatform protos in the tests.
DEV_HARM_CATEGORY = {
    0: "HARM_CATEGORY_UNSPECIFIED", 1: "HARM_CATEGORY_DEROGATORY", 2: "HARM_CATEGORY_TOXICITY",
    3: "HARM_CATEGORY_VIOLENCE", 4: "HARM_CATEGORY_SEXUAL", 5: "HARM_CATEGORY_MEDICAL",
    6: "HARM_CATEGORY_DANGEROUS", 7: "HARM_CATEGORY_HARASSMENT", 8: "HARM_CATEGORY_HATE_SPEECH",
    9: "HARM_CATEGORY_SEXUALLY_EXPLICIT", 10: "HARM_CATEGORY_DANGEROUS_CONTENT", 11: "HARM_CATEGORY_CIVIC_INTEGRITY",
}
VERTEX_HARM_CATEGORY = {
    0: "HARM_CATEGORY_UNSPECIFIED", 1: "HARM_CATEGORY_HATE_SPEECH", 2: "HARM_CATEGORY_DANGEROUS_CONTENT",
    3: "HARM_CATEGORY_HARASSMENT", 4: "HARM_CATEGORY_SEXUALLY_EXPLICIT", 5: "HARM_CATEGORY_CIVIC_INTEGRITY",
    6: "HARM_CATEGORY_JAILBREAK",
}
HARM_BLOCK_THRESHOLD = {
    0: "HARM_BLOCK_THRESHOLD_UNSPECIFIED", 1: "BLOCK_LOW_AND_ABOVE", 2: "BLOCK_MEDIUM_AND_ABOVE",
    3: "BLOCK_ONLY_HIGH", 4: "BLOCK_NONE", 5: "OFF",
}
HARM_BLOCK_METHOD = {0: "HARM_BLOCK_METHOD_UNSPECIFIED", 1: "SEVERITY", 2: "PROBABILITY"}
SCHEMA_TYPE = {0: "TYPE_UNSPECIFIED", 1: "STRING", 2: "NUMBER", 3: "INTEGER", 4: "BOOLEAN", 5: "ARRAY", 6: "OBJECT"}
FUNCTION_CALLING_MODE = {0: "MODE_UNSPECIFIED", 1: "AUTO", 2: "ANY", 3: "NONE", 5: "VALIDATED"}
EMBED_TASK_TYPE = {0: "TASK_TYPE_UNSPECIFIED", 1: "RETRIEVAL_QUERY", 2: "RETRIEVAL_DOCUMENT", 3: "SEMANTIC_SIMILARITY",
                   4: "CLASSIFICATION", 5: "CLUSTERING", 6: "QUESTION_ANSWERING", 7: "FACT_VERIFICATION"}

# Keys whose values are user data (never re-cased, numbers kept as sent).
_DATA_KEYS = {"args", "response", "labels", "parametersJsonSchema", "responseJsonSchema", "example", "default",
              "enum", "structValue"}
_SCHEMA_KEYS = {"parameters", "response", "responseSchema", "items"}
_CAMEL_RE = re.compile(r"_([a-z0-9])")
# countTokens: fields that cannot change a token count. Legacy google-generativeai wraps the
# model's whole GenerateContentRequest; google-genai (Developer API) sends only `contents`.
_COUNT_IGNORED = ("generationConfig", "safetySettings", "toolConfig")


def _camel(key: str) -> str:
    return _CAMEL_RE.sub(lambda m: m.group(1).upper(), key) if "_" in key else key


def _num(x: Any) -> Any:
    """Integral floats become ints (proto-JSON writes `topK: 40.0`); other floats are compared at
    float32 precision (legacy protos store temperature/topP/penalties as float32)."""
    if isinstance(x, bool) or not isinstance(x, float):
        return x
    if x.is_integer() and abs(x) < 2 ** 53:
        return int(x)
    return float(f"{x:.7g}")


def _empty(v: Any) -> bool:
    return v is None or v == {} or v == []


def _structural(value: Any) -> Any:
    """camelCase keys, drop empty containers (proto3 default == absent), normalise numbers; stop at
    user data."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            ck = _camel(k)
            if ck in _DATA_KEYS:
                out[ck] = v
                continue
            v = _structural(v)
            if not _empty(v):
                out[ck] = v
        return out
    if isinstance(value, list):
        return [_structural(v) for v in value]
    return _num(value)


def _schema(schema: Any, *, ordering_matters: bool) -> Any:
    """OpenAPI-subset Schema: enum ints -> names; `propertyOrdering` dropped when it only repeats
    the order of `properties` and the order cannot matter (function parameters, or <= 1 property).
    The legacy Vertex SDK adds it to every schema built from a dict; google-genai does not."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        ck = _camel(k)
        if ck in _DATA_KEYS:
            out[ck] = v
        elif ck == "type":
            out[ck] = SCHEMA_TYPE.get(v, v) if isinstance(v, int) else (v.upper() if isinstance(v, str) else v)
        elif ck == "properties" and isinstance(v, dict):
            out[ck] = {name: _schema(s, ordering_matters=ordering_matters) for name, s in v.items()}
        elif ck in ("items",):
            out[ck] = _schema(v, ordering_matters=ordering_matters)
        elif ck == "anyOf" and isinstance(v, list):
            out[ck] = [_schema(s, ordering_matters=ordering_matters) for s in v]
        else:
            v = _structural(v)
            if not _empty(v):
                out[ck] = v
    order = out.get("propertyOrdering")
    props = out.get("properties")
    if order is not None and isinstance(props, dict) and list(order) == list(props):
        if not ordering_matters or len(props) <= 1:
            del out["propertyOrdering"]
    return out


def _content(content: Any, *, default_role: str | None) -> Any:
    if not isinstance(content, dict):
        return content
    out = _structural(content)
    if default_role is None:
        out.pop("role", None)  # systemInstruction: the role is ignored by the API
    elif not out.get("role"):
        out["role"] = default_role  # legacy count_tokens omits it; the API treats it as "user"
    return out


def _enum(value: Any, table: dict[int, str]) -> Any:
    return table.get(value, value) if isinstance(value, int) and not isinstance(value, bool) else value


def _tools(tools: Any) -> Any:
    out = []
    for tool in tools or []:
        if not isinstance(tool, dict):
            out.append(tool)
            continue
        t: dict[str, Any] = {}
        for k, v in tool.items():
            ck = _camel(k)
            if ck == "functionDeclarations":
                decls = []
                for d in v or []:
                    nd = {}
                    for dk, dv in (d or {}).items():
                        cdk = _camel(dk)
                        if cdk in ("parameters", "response"):
                            nd[cdk] = _schema(dv, ordering_matters=False)
                        elif cdk == "description" and isinstance(dv, str):
                            # A docstring-derived description: legacy sent the raw __doc__, google-genai
                            # sends inspect.cleandoc(__doc__). Same text, other indentation.
                            nd[cdk] = inspect.cleandoc(dv)
                        elif cdk in _DATA_KEYS:
                            nd[cdk] = dv
                        else:
                            dv = _structural(dv)
                            if not _empty(dv):
                                nd[cdk] = dv
                    decls.append(nd)
                t[ck] = decls
            else:
                t[ck] = _structural(v)  # googleSearch: {} is meaningful, keep it
        out.append(t)
    return out


def _body(body: dict, *, api: str, verb: str | None) -> dict:
    if verb == "countTokens" and isinstance(body.get("generateContentRequest"), dict):
        inner = dict(body["generateContentRequest"])
        body = {**{k: v for k, v in body.items() if k != "generateContentRequest"}, **inner}
    categories = VERTEX_HARM_CATEGORY if api == "vertex" else DEV_HARM_CATEGORY
    out: dict[str, Any] = {}
    for k, v in body.items():
        ck = _camel(k)
        if ck == "model":  # legacy countTokens repeats the model in the body: reported separately
            continue
        if verb == "countTokens" and ck in _COUNT_IGNORED:
            continue
        if ck == "contents":
            v = [_content(c, default_role="user") for c in v or []]
        elif ck == "systemInstruction":
            v = _content(v, default_role=None) if isinstance(v, dict) else v
        elif ck == "generationConfig":
            schema = _get_any(v, "responseSchema")
            v = _structural({gk: gv for gk, gv in (v or {}).items() if _camel(gk) != "responseSchema"})
            if schema is not None:
                v["responseSchema"] = _schema(schema, ordering_matters=True)
        elif ck == "safetySettings":
            v = [{_camel(sk): _enum(sv, {"category": categories, "threshold": HARM_BLOCK_THRESHOLD,
                                          "method": HARM_BLOCK_METHOD}.get(_camel(sk), {}))
                  for sk, sv in (s or {}).items()} for s in v or []]
        elif ck == "tools":
            v = _tools(v)
        elif ck == "toolConfig":
            v = _structural(v)
            fcc = v.get("functionCallingConfig") if isinstance(v, dict) else None
            if isinstance(fcc, dict) and "mode" in fcc:
                fcc["mode"] = _enum(fcc["mode"], FUNCTION_CALLING_MODE)
        elif ck in _DATA_KEYS:
            pass
        else:
            v = _structural(v)
        if not _empty(v):
            out[ck] = v
    return out


def _get_any(d: Any, camel: str) -> Any:
    if not isinstance(d, dict):
        return None
    for k, v in d.items():
        if _camel(k) == camel:
            return v
    return None


def _embed_body(body: dict, *, verb: str, model: str | None) -> dict:
    """``embedContent`` (one text, model in the path) and ``batchEmbedContents`` (``requests``, each
    naming its model) as one shape: a list of requests. google-genai sends every Developer API
    embedding, even of one text, as ``batchEmbedContents``; legacy ``embed_content`` of one text
    sends ``embedContent``. ``content.role`` is dropped (google-genai sends ``"user"``, legacy
    nothing; an embedding has no turns) and ``taskType`` ints become names."""
    requests = body.get("requests") if verb == "batchEmbedContents" else [body]
    out = []
    for req in requests or []:
        if not isinstance(req, dict):
            out.append(req)
            continue
        item: dict[str, Any] = {}
        for k, v in req.items():
            ck = _camel(k)
            if ck == "model":
                v = _strip_models_prefix(v)
            elif ck == "content":
                v = _content(v, default_role=None)
            elif ck == "taskType":
                v = _enum(v, EMBED_TASK_TYPE)
            else:
                v = _structural(v)
            if not _empty(v):
                item[ck] = v
        item.setdefault("model", model)
        out.append(item)
    return {"requests": out}


def _strip_models_prefix(model: str | None) -> str | None:
    if model and model.startswith("models/"):
        return model[len("models/"):]
    return model


def is_metadata(rec: RecordedRequest) -> bool:
    """A Files API request, or a read of model metadata (models.get / models.list): no model is called."""
    return bool(rec.verb and rec.verb.startswith("files.")) or rec.verb == "list" or (rec.verb is None and rec.method == "GET")


def _metadata_request(rec: RecordedRequest, body: dict, key: str | None) -> dict:
    """Files API and model metadata, compared with what they are about (``resource``, the model of a
    models.get included, since no model is swapped there). Upload metadata: camelCase keys (google-genai
    2.x sends snake_case), the MIME type and size from the upload headers where a legacy SDK put them;
    the bytes by their SHA-256. Query parameters (page sizes) are not compared: they change how many
    items a page holds, not what the program sees."""
    verb = rec.verb or "models.get"
    resource = rec.resource or (_strip_models_prefix(rec.model) if verb == "models.get" else None)
    out: dict[str, Any] = {}
    if verb == "files.upload":
        file = {_camel(k): v for k, v in (body.get("file") or {}).items()}
        h = rec.headers
        file.setdefault("mimeType", h.get("x-upload-content-type") or h.get("x-goog-upload-header-content-type"))
        size = file.get("sizeBytes") or h.get("x-upload-content-length") or h.get("x-goog-upload-header-content-length")
        file["sizeBytes"] = int(size) if size is not None else None
        out = {"file": file}
    elif verb == "files.upload.data":
        out = {"sha256": hashlib.sha256(rec.raw_body).hexdigest()}
    if verb == "files.upload.data":
        key = None  # sent to the upload URL the server handed out, which authenticates the session
    return {"model": None, "api": rec.api, "api_key": key, "project": rec.project, "location": rec.location, "verb": verb,
            "resource": resource, "body": out}


def canonical_request(recorded: RecordedRequest | dict) -> dict:
    """The SDK-independent view of one request.

    Returns ``{"model", "api", "api_key", "project", "location", "verb", "body"}``; compare everything but
    ``model``. What is normalised (observed differences between the legacy SDKs over REST and
    google-genai), and nothing else:

    * transport: API version (``v1``/``v1beta``/``v1beta1``), query (``$alt=json;enum-encoding=int``
      vs ``alt=sse``; a streamed JSON array and SSE are the same ``streamGenerateContent``), headers;
    * key casing: google-genai sends some nested keys in snake_case (``inlineData.mime_type``,
      ``thinkingConfig.thinking_budget``, ``toolConfig.functionCallingConfig.allowed_function_names``);
      all structural keys become camelCase (user data such as function ``args`` is left alone);
    * enums: legacy sends ints (``enum-encoding=int``), google-genai names; safety category ints are
      mapped per API (the Developer and Vertex protos number categories differently), plus threshold,
      method, schema ``type`` and function-calling ``mode``; schema types are upper-cased;
    * numbers: integral floats as ints (``topK: 40.0``), other floats at float32 precision;
    * empty values: ``generationConfig: {}`` and other empty objects/lists equal absence;
    * ``contents[].role`` missing -> ``"user"`` (legacy ``count_tokens``); ``systemInstruction.role``
      dropped (google-genai and legacy Vertex send ``"user"``, legacy google-generativeai nothing);
    * schema ``propertyOrdering`` equal to the order of ``properties``, which legacy Vertex adds to
      dict schemas, is dropped where order cannot matter (function parameters, a single property);
      in a ``responseSchema`` with several properties it is kept: without it the API orders the
      output keys alphabetically;
    * ``countTokens``: legacy google-generativeai wraps the model's whole request in
      ``generateContentRequest`` (with ``model``); it is unwrapped, and ``generationConfig``,
      ``safetySettings`` and ``toolConfig`` (which cannot change a count) are ignored there.
      ``systemInstruction`` and ``tools`` do change the count and stay;
    * embeddings: a single ``embedContent`` is the batch of one it means (verb
      ``batchEmbedContents``, body ``{"requests": [...]}``, each request naming its model without
      the ``models/`` prefix); ``content.role`` is dropped and ``taskType`` ints become names;
    * the model (path, and the ``model`` field of legacy ``countTokens``) is reported separately;
    * Files API and model metadata (``is_metadata``): see ``_metadata_request``.
    """
    if isinstance(recorded, RecordedRequest):
        rec = recorded
    else:
        rec = RecordedRequest(**{k: v for k, v in recorded.items() if k in RecordedRequest.__dataclass_fields__})
    body = rec.body if isinstance(rec.body, dict) else {}
    key = _api_key(rec)
    if is_metadata(rec):
        return _metadata_request(rec, body, key)
    if rec.verb in ("embedContent", "batchEmbedContents") and rec.api == "developer":
        return {"model": _strip_models_prefix(rec.model), "api": rec.api, "api_key": key, "project": rec.project,
                "location": rec.location, "verb": "batchEmbedContents",
                "body": _embed_body(body, verb=rec.verb, model=_strip_models_prefix(rec.model))}
    return {
        "model": _strip_models_prefix(rec.model),
        "api": rec.api,
        "api_key": key,
        "project": rec.project,
        "location": rec.location,
        "verb": rec.verb,
        "body": _body(body, api=rec.api, verb=rec.verb),
    }


def _api_key(rec: RecordedRequest) -> str | None:
    """The Developer API key a request authenticates with (header or `?key=`): a lost configure() changes it."""
    if rec.api != "developer":
        return None
    return (rec.headers or {}).get("x-goog-api-key") or (rec.query or {}).get("key")


# --------------------------------------------------------------------------------------------
# Assertions


def _dump(c: dict) -> list[str]:
    return json.dumps(c, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def wire_diff(before: RecordedRequest | dict, after: RecordedRequest | dict) -> str:
    """Unified diff of the canonical forms (model aside); empty when equivalent."""
    a, b = canonical_request(before), canonical_request(after)
    a.pop("model"), b.pop("model")
    if a == b:
        return ""
    return "\n".join(difflib.unified_diff(_dump(a), _dump(b), "before (legacy)", "after (migrated)", lineterm=""))


def _relevant(requests: Iterable[RecordedRequest]) -> list[RecordedRequest]:
    """The requests a program made, less what a legacy SDK adds on its own: the discovery document
    google-generativeai fetches before its first upload, and the read-back of the file it just
    uploaded (google-genai takes the file from the upload's answer)."""
    out: list[RecordedRequest] = []
    for r in requests:
        if r.api not in ("developer", "vertex", "openai") or r.verb == "files.discovery":
            continue
        if r.verb == "files.get" and out and out[-1].verb == "files.upload.data" and out[-1].resource == r.resource:
            continue
        out.append(r)
    return out


def assert_wire_equivalent(before_requests: Sequence[RecordedRequest], after_requests: Sequence[RecordedRequest],
                           target_model: str | None) -> None:
    """Pairwise: same number of requests, canonical forms equal model aside, and every after-request
    uses ``target_model`` (``None`` skips that check). Raises AssertionError with a diff."""
    before, after = _relevant(before_requests), _relevant(after_requests)
    problems: list[str] = []
    if len(before) != len(after):
        problems.append(f"request count differs: {len(before)} before, {len(after)} after\n"
                        f"  before: {[f'{r.verb} {r.model}' for r in before]}\n"
                        f"  after:  {[f'{r.verb} {r.model}' for r in after]}")
    for i, (a, b) in enumerate(zip(before, after)):
        diff = wire_diff(a, b)
        if diff:
            problems.append(f"request #{i} ({a.verb}) differs:\n{diff}")
    if target_model is not None:
        target = _strip_models_prefix(target_model)
        for i, b in enumerate(after):
            if _strip_models_prefix(b.model) != target and not is_metadata(b):
                problems.append(f"request #{i} ({b.verb}) uses model {b.model!r}, expected {target!r}")
    if problems:
        raise AssertionError("requests are not wire-equivalent:\n" + "\n".join(problems))


def assert_migration_equivalent(before: ProgramRun, after: ProgramRun, target_model: str | None) -> None:
    """Both programs succeed, print the same stdout and send wire-equivalent requests."""
    before.check()
    after.check()
    if before.stdout != after.stdout:
        diff = "\n".join(difflib.unified_diff(before.stdout.splitlines(), after.stdout.splitlines(),
                                              f"stdout {before.program}", f"stdout {after.program}", lineterm=""))
        raise AssertionError(f"stdout differs:\n{diff}")
    assert_wire_equivalent(before.requests, after.requests, target_model)
