"""Point the real Gemini SDKs at the fake server, without touching the program under test.

``tests/sdk_harness.py`` puts this directory on ``PYTHONPATH`` and sets
``FAKE_GEMINI_URL``; Python imports ``sitecustomize`` at start-up. Nothing here imports an
SDK: a meta-path finder patches a module right after it is first executed, so a program that
never imports ``google.generativeai`` / ``vertexai`` / ``google.genai`` pays only a dict look-up
per import.

* ``google.auth``: ``default()`` returns ``FakeCredentials`` (a static bearer token, no
  network) and ``$GOOGLE_CLOUD_PROJECT``. Covers google-genai Vertex mode and ``vertexai``.
* ``google.generativeai.client``: ``configure()`` (explicit, or the implicit default one) always
  uses ``transport="rest"`` and ``client_options.api_endpoint = $FAKE_GEMINI_URL``; the user's API
  key and other options are kept. The Files API upload's discovery URL points at the fake too. The async GAPIC clients only speak gRPC, so ``*_async`` clients
  become the sync REST client run in a worker thread (``generate_content_async`` etc. work).
* ``google.cloud.aiplatform.initializer``: the global config starts with, and ``init()`` always
  forces, ``api_endpoint``, ``api_transport="rest"`` and ``FakeCredentials``; async clients get the
  same thread-backed sync REST client.
* ``google.cloud.aiplatform.utils.resource_manager_utils.get_project_id``: identity. Otherwise a
  project taken from ``$GOOGLE_CLOUD_PROJECT`` is "resolved" through Cloud Resource Manager over
  gRPC, which retries for ~45 s before giving up.
* ``socket.getaddrinfo``: refuses every host but the loopback (gRPC's own resolver is not covered;
  both legacy SDKs are forced onto REST anyway).
* ``google.genai._api_client.BaseApiClient``: after ``__init__``, a ``*.googleapis.com`` base URL
  (the SDK's own choice: Developer API, regional/global/multi-regional Vertex) is replaced by
  ``$FAKE_GEMINI_URL``; paths, API version, project and location stay the SDK's. The
  ``GOOGLE_GEMINI_BASE_URL`` / ``GOOGLE_VERTEX_BASE_URL`` variables are *not* used: with a custom
  Vertex base URL google-genai 2.x ignores a project/location that came from the environment and
  posts to the bare base URL. A base URL the program sets itself is left alone.

Any other ``sitecustomize`` on the path (e.g. the distro's) is still executed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_URL = os.environ.get("FAKE_GEMINI_URL")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _chain_other_sitecustomize() -> None:
    """Run the sitecustomize we shadow, if any (found on sys.path after this directory)."""
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception:  # the shadowed file is best effort, as site.py treats it
        pass


# ------------------------------------------------------------------------------------------
# Patches, applied right after the target module has executed


def _fake_credentials_class():
    from google.auth import credentials as ga_credentials

    class FakeCredentials(ga_credentials.Credentials):
        """Static bearer token; refresh is a no-op (no network)."""

        def __init__(self) -> None:
            super().__init__()
            self.token = "fake-token"

        def refresh(self, request) -> None:  # noqa: ARG002
            self.token = "fake-token"

        @property
        def expired(self) -> bool:
            return False

        @property
        def valid(self) -> bool:
            return True

    return FakeCredentials


_CREDS = None


def fake_credentials():
    global _CREDS
    if _CREDS is None:
        _CREDS = _fake_credentials_class()()
    return _CREDS


def _patch_google_auth(module) -> None:
    def default(scopes=None, request=None, quota_project_id=None, default_scopes=None):  # noqa: ARG001
        return fake_credentials(), os.environ.get("GOOGLE_CLOUD_PROJECT", "fake-project")

    module.default = default
    _default = sys.modules.get("google.auth._default")
    if _default is not None:
        _default.default = default


def _patch_generativeai_client(module) -> None:
    from google.api_core import client_options as client_options_lib

    original = module._ClientManager.configure

    def configure(self, *, transport=None, client_options=None, **kwargs):  # noqa: ARG001
        if isinstance(client_options, dict):
            client_options = client_options_lib.from_dict(client_options)
        if client_options is None:
            client_options = client_options_lib.ClientOptions()
        client_options.api_endpoint = _URL
        return original(self, transport="rest", client_options=client_options, **kwargs)

    configure.__wrapped__ = original
    module._ClientManager.configure = configure
    # The Files API upload builds its client from a discovery document fetched from a fixed URL.
    module.GENAI_API_DISCOVERY_URL = _URL.rstrip("/") + "/$discovery/rest"

    # The async GAPIC clients only speak gRPC. Serve `*_async` clients (generate_content_async,
    # count_tokens_async, async chat) with the sync REST client run in a worker thread.
    original_make = module._ClientManager.make_client

    def make_client(self, name):
        if name.endswith("_async") and name != "file_async":
            return _AsyncOverSync(original_make(self, name[: -len("_async")]))
        return original_make(self, name)

    module._ClientManager.make_client = make_client
    # The module already ran `_client_manager.configure()` (grpc, real endpoint) at import: redo it.
    module._client_manager.configure()


class _AsyncOverSync:
    """Coroutine facade over a sync GAPIC client; ``stream_*`` calls give async iterators."""

    def __init__(self, sync_client) -> None:
        self._sync = sync_client

    def __getattr__(self, name):
        attr = getattr(self._sync, name)
        if name.startswith("_") or not callable(attr):
            return attr
        import asyncio

        async def call(*args, **kwargs):
            result = await asyncio.to_thread(attr, *args, **kwargs)
            return _aiter_in_thread(result) if name.startswith("stream_") else result

        return call


async def _aiter_in_thread(iterator):
    import asyncio

    done = object()
    it = iter(iterator)
    while True:
        item = await asyncio.to_thread(next, it, done)
        if item is done:
            return
        yield item


def _patch_aiplatform_initializer(module) -> None:
    cls = module._Config
    original = cls.init

    def init(self, *args, **kwargs):
        kwargs["api_endpoint"] = _URL
        kwargs["api_transport"] = "rest"
        if not kwargs.get("api_key"):
            kwargs["credentials"] = fake_credentials()
        return original(self, *args, **kwargs)

    init.__wrapped__ = original
    cls.init = init

    # Async GAPIC clients would need google-auth[aiohttp] for REST and fall back to gRPC: serve
    # them with the sync REST client run in a worker thread (generate_content_async, ...).
    original_create = cls.create_client

    def create_client(self, client_class, *args, **kwargs):
        if "AsyncClient" in getattr(client_class, "__name__", ""):
            sync_module = sys.modules.get(client_class.__module__.replace(".async_client", ".client"))
            sync_class = getattr(sync_module, client_class.__name__.replace("AsyncClient", "Client"), None)
            if sync_class is not None:
                return _AsyncOverSync(original_create(self, sync_class, *args, **kwargs))
        return original_create(self, client_class, *args, **kwargs)

    cls.create_client = create_client
    cfg = module.global_config
    cfg._api_endpoint = _URL
    cfg._api_transport = "rest"
    cfg._credentials = fake_credentials()


def _patch_resource_manager_utils(module) -> None:
    # With GOOGLE_CLOUD_PROJECT set, aiplatform turns the "project number" into a project id by
    # calling Cloud Resource Manager over gRPC (and retries for ~45 s when that fails).
    def get_project_id(project_number, credentials=None):  # noqa: ARG001
        return project_number

    module.get_project_id = get_project_id


def _patch_genai_api_client(module) -> None:
    # Swap the host of the base URL the SDK computed itself (after __init__), rather than set
    # GOOGLE_VERTEX_BASE_URL: with a custom Vertex base URL and project/location taken from the
    # environment, google-genai 2.x drops project/location and posts to the bare base URL
    # ("API gateway" mode), which is not what the program does in production.
    cls = module.BaseApiClient
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        opts = getattr(self, "_http_options", None)
        base = getattr(opts, "base_url", None)
        if base and _is_google_url(base):
            opts.base_url = _URL.rstrip("/") + "/"

    __init__.__wrapped__ = original
    cls.__init__ = __init__


def _is_google_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host == "googleapis.com" or host.endswith(".googleapis.com")


_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "", None}


def _patch_socket(module) -> None:
    # Safety net: Python-level name resolution of anything but the loopback fails at once, so an
    # SDK path the shim does not cover errors out instead of reaching (or retrying) Google.
    original = module.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        h = host.decode() if isinstance(host, bytes) else host
        if h not in _LOCAL_HOSTS:
            raise module.gaierror(module.EAI_NONAME, f"sdk_shim: network access to {h!r} is blocked in tests")
        return original(host, *args, **kwargs)

    module.getaddrinfo = getaddrinfo


_PATCHES = {
    "socket": _patch_socket,
    "google.auth": _patch_google_auth,
    "google.cloud.aiplatform.utils.resource_manager_utils": _patch_resource_manager_utils,
    "google.generativeai.client": _patch_generativeai_client,
    "google.cloud.aiplatform.initializer": _patch_aiplatform_initializer,
    "google.genai._api_client": _patch_genai_api_client,
}


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner, patch) -> None:
        self._inner = inner
        self._patch = patch

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module) -> None:
        self._inner.exec_module(module)
        self._patch(module)

    def __getattr__(self, name):  # get_code, get_source, is_package, ... for tools that ask
        return getattr(self._inner, name)


class _PatchingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


def _install() -> None:
    if not _URL:
        return
    for name, patch in _PATCHES.items():  # already imported (unlikely at start-up): patch now
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _PatchingFinder())


_install()
_chain_other_sitecustomize()
