"""The bytes a URL names, for an input given as a URL. A ``data:`` URL is read as it is.
An http(s) URL is fetched only where the operator turned fetching on (``fetch_hosts``),
against server-side request forgery:

- its host must be on the allow-list (``host``, ``host:port``, ``*.domain``);
- every address the host resolves to is checked, and one that is not global (loopback,
  private, link-local, ...) refuses the URL unless it is in ``fetch_allow_networks``;
- the connection goes to a checked address (the URL keeps its name for the ``Host`` header,
  TLS's SNI and the certificate check), so a name that resolves elsewhere a moment later
  (DNS rebinding) changes nothing;
- redirects are followed by hand, each new URL checked as the first;
- the body is streamed under a size limit, and the whole fetch, redirects included, runs
  under one deadline held on every connect, read and write.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import socket
import ssl
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import IO
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from tamis import __version__
from tamis.config import Settings
from tamis.errors import ConfigError
from tamis.service.errors import ServiceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
REDIRECTS = (301, 302, 303, 307, 308)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_url(url: str, field: str, code: str = "invalid_request") -> tuple[httpx.URL, str, int]:
    """``url`` parsed, with its host (lower case) and port, if it is a plain-ASCII http(s)
    URL without credentials; else a ServiceError ``code`` naming ``field``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ServiceError(code, f"{field} {url[:100]!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ServiceError(code, f"{field} must be an http or https URL, without credentials")
    if any(ord(c) < 33 or ord(c) > 126 for c in url):
        raise ServiceError(code, f"{field} must be plain ASCII without spaces or control characters "
                           "(percent-encode the rest)")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ServiceError(code, f"{field} is not a valid URL: {exc}") from None
    return parsed, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def _entry(entry: str) -> tuple[str, int | None]:
    """An allow-list entry as (host, port or None): ``host``, ``host:port``, ``[v6]:port``."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        if rest[:1] == ":" and rest[1:].isdigit():
            return name, int(rest[1:])
        return (name, None) if not rest else (entry, None)  # a malformed entry matches nothing
    name, sep, port = entry.rpartition(":")
    if sep and ":" not in name and port.isdigit():
        return name, int(port)
    return entry, None


def host_allowed(host: str, port: int, allowed: tuple[str, ...]) -> bool:
    """Whether ``host`` on ``port`` is on ``allowed``: an entry ``host`` (any port), ``host:port``,
    or ``*.domain`` / ``*.domain:port`` (any name under domain, not domain itself)."""
    for entry in allowed:
        name, want = _entry(entry)
        if want is not None and want != port:
            continue
        if host == name or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def address_class(ip: IPAddress) -> str | None:
    """The kind of a non-global address (``loopback``, ``private``, ``link-local``, ...), or
    None for a global one. An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4,
    NAT64) is judged by that one too."""
    if ip.version == 6:
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and (kind := address_class(inner)):
            return kind
    for kind in ("unspecified", "loopback", "link_local", "site_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}", False):  # site-local (fec0::/10) is IPv6's only
            return kind.replace("_", "-")
    return None if ip.is_global else "non-global"


def _data_url(url: str) -> bytes:
    head, _, payload = url.partition(",")
    if not head.lower().endswith(";base64"):
        raise ServiceError("invalid_request", "a data: URL must be base64 (data:image/png;base64,...)")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError("invalid_request", "the data: URL is not valid base64") from None


def _left(deadline: float, timeout: float | None) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the fetch's deadline passed")
    return left if timeout is None else min(timeout, left)


#: Name lookups (getaddrinfo has no timeout of its own): a few at a time, each waited for
#: at most until its fetch's deadline.
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tamis-resolve")


class _Bounded(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self.stream, self.deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, _left(self.deadline, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, _left(self.deadline, timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self.stream.start_tls(ssl_context, server_hostname, _left(self.deadline, timeout))
        return _Bounded(tls, self.deadline)

    def get_extra_info(self, info: str):
        return self.stream.get_extra_info(info)


class _Pinned(httpcore.NetworkBackend):
    """Connects to the addresses checked for one request, whatever host its URL names."""

    def __init__(self, addresses: list[str], deadline: float) -> None:
        self.addresses, self.deadline = addresses, deadline
        self.tcp = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in self.addresses:
            try:
                stream = self.tcp.connect_tcp(address, port, _left(self.deadline, timeout), local_address,
                                              socket_options)
                return _Bounded(stream, self.deadline)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("a fetch never uses a Unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Fetcher:
    """Reads the URLs inputs name, under the operator's fetch settings."""

    def __init__(self, settings: Settings, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        try:
            self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in settings.fetch_allow_networks)
        except ValueError as exc:
            raise ConfigError(f"setting 'fetch_allow_networks': {exc}") from None
        #: Certificates are checked against the URL's host name (the system's CAs by default).
        self.ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self.user_agent = f"tamis/{__version__}".encode()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.fetch_hosts)

    def open(self, url: str, max_bytes: int) -> IO[bytes]:
        """What ``url`` names, in a file read from the start: a ``data:`` URL's bytes, or an
        http(s) URL fetched (at most ``max_bytes``, and ``fetch_max_bytes``) if fetching is on."""
        if url[:5].lower() == "data:":
            return io.BytesIO(_data_url(url))
        if not self.enabled:
            raise ServiceError("url_not_allowed", "only data: URLs are accepted; this service fetches no URL "
                               "unless its operator allows it (setting fetch_hosts)")
        s = self.settings
        limit = min(s.fetch_max_bytes or max_bytes, max_bytes)
        deadline = time.monotonic() + s.fetch_timeout_seconds
        out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        try:
            for hop in range(s.fetch_max_redirects + 1):
                try:
                    target = parse_url(url, "url" if hop == 0 else "the redirect's Location",
                                       "invalid_request" if hop == 0 else "fetch_failed")
                    location = self._get(*target, deadline, limit, out)
                except ServiceError as exc:
                    if hop:
                        exc.message = f"after {hop} redirect{'s' if hop > 1 else ''}: {exc.message}"
                        exc.args = (exc.message,)
                    raise
                if location is None:
                    out.seek(0)
                    return out
                was_https, url = url[:6].lower() == "https:", urljoin(url, location)
                if was_https and url[:6].lower() != "https:":
                    raise ServiceError("fetch_failed", f"after {hop + 1} redirect{'s' if hop else ''}: an https URL "
                                       "redirected to plain http, which a fetch does not follow")
            raise ServiceError("fetch_failed", f"more than {s.fetch_max_redirects} redirects (setting "
                               "fetch_max_redirects)")
        except BaseException:
            out.close()
            raise

    def check(self, host: str, port: int, deadline: float | None = None) -> list[str]:
        """The addresses of an allowed ``host``, every one of them allowed; else url_not_allowed.
        The lookup too waits at most until ``deadline``."""
        if not host_allowed(host, port, self.settings.fetch_hosts):
            raise ServiceError("url_not_allowed", f"host {host!r} is not one the operator allows (setting "
                               "fetch_hosts)")
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise self._late()
        lookup = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = lookup.result(timeout=left)
        except FutureTimeout:  # the lookup goes on in its thread, and its answer is not used
            raise self._late() from None
        except (OSError, UnicodeError) as exc:
            raise ServiceError("fetch_failed", f"could not resolve {host!r}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            ip = ipaddress.ip_address(address)
            kind = address_class(ip)
            plain = ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip
            if kind and not any(plain in net for net in self.networks):
                raise ServiceError("url_not_allowed", f"{host!r} resolves to {address}, a {kind} address, "
                                   "which the operator does not allow (setting fetch_allow_networks)")
        return addresses

    def _get(self, url: httpx.URL, host: str, port: int, deadline: float, limit: int,
             out: IO[bytes]) -> str | None:
        """GET ``url`` from a checked address into ``out``; a redirect's Location, else None."""
        addresses = self.check(host, port, deadline)
        shown = str(url)[:200]
        headers = [(b"Host", url.netloc), (b"User-Agent", self.user_agent), (b"Accept", b"*/*"),
                   (b"Accept-Encoding", b"identity")]
        target = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
        pool = httpcore.ConnectionPool(ssl_context=self.ssl_context, network_backend=_Pinned(addresses, deadline))
        with pool, self._errors(shown, deadline), pool.stream(
                "GET", target, headers=headers,
                extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"),
                                                     _left(deadline, None))}) as answer:
            found = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in answer.headers}
            if answer.status in REDIRECTS:
                if "location" not in found:
                    raise ServiceError("fetch_failed", f"{shown} answered HTTP {answer.status} without a Location")
                return found["location"]
            if not 200 <= answer.status < 300:
                raise ServiceError("fetch_failed", f"{shown} answered HTTP {answer.status}")
            length = found.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise ServiceError("too_large", f"{shown} is {int(length):,} bytes, over the limit of {limit:,} bytes")
            size = 0
            for chunk in answer.iter_stream():
                size += len(chunk)
                if size > limit:
                    raise ServiceError("too_large", f"{shown} is over the limit of {limit:,} bytes")
                out.write(chunk)
        return None

    def _late(self, shown: str = "the URL") -> ServiceError:
        return ServiceError("timeout", f"fetching {shown} took over {self.settings.fetch_timeout_seconds:g} s "
                            "(setting fetch_timeout_seconds)")

    @contextmanager
    def _errors(self, shown: str, deadline: float) -> Iterator[None]:
        """httpcore's errors as the service's: ``timeout`` past the deadline, else ``fetch_failed``."""
        late = self._late(shown)
        try:
            yield
        except httpcore.TimeoutException:
            raise late from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            if time.monotonic() >= deadline:  # a connection cut short by the deadline
                raise late from None
            raise ServiceError("fetch_failed", f"could not fetch {shown}: {exc or type(exc).__name__}") from None
