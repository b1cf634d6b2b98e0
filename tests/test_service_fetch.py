"""Fetching the URLs inputs name (tamis.service.fetch), against a real HTTP server on
127.0.0.1: off by default; on, only hosts on the allow-list, no address that is not global
unless its network is allowed, redirects checked again, size and time limits, and the
connection made to the address that was checked."""

from __future__ import annotations

import base64
import http.server
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from service_fixtures import make_service

from conftest import SAMPLES
from tamis.config import load_settings
from tamis.errors import ConfigError
from tamis.service import create_app
from tamis.service.errors import ServiceError
from tamis.service.fetch import Fetcher, address_class, host_allowed

PHOTO = (SAMPLES / "cat.jpg").read_bytes()


class Origin:
    """A media server on 127.0.0.1 that records every request it gets."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, dict]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the standard library's name
                outer.requests.append((self.path, dict(self.headers)))
                try:
                    outer.answer(self)
                except (BrokenPipeError, ConnectionResetError):  # the fetcher gave up: as it should
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, h: http.server.BaseHTTPRequestHandler) -> None:
        path = h.path.split("?")[0]
        if path == "/cat.jpg":
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(PHOTO)))
            h.end_headers()
            h.wfile.write(PHOTO)
        elif path.startswith("/hop/"):  # /hop/N: N more redirects, then the picture
            n = int(path.rsplit("/", 1)[1])
            self.redirect(h, f"/hop/{n - 1}" if n > 1 else "/cat.jpg")
        elif path == "/away":
            self.redirect(h, "http://elsewhere.test/cat.jpg")
        elif path == "/to-http":  # from https, down to plain http
            self.redirect(h, f"http://media.test:{self.port}/cat.jpg")
        elif path == "/to-ftp":
            self.redirect(h, "ftp://127.0.0.1/cat.jpg")
        elif path == "/inside":
            self.redirect(h, f"http://10.1.2.3:{self.port}/cat.jpg")
        elif path == "/huge":  # says how much it would send
            h.send_response(200)
            h.send_header("Content-Length", str(10**9))
            h.end_headers()
        elif path == "/endless":  # no length, no end
            h.send_response(200)
            h.end_headers()
            while True:
                h.wfile.write(b"\0" * 65536)
        elif path == "/slow":  # a byte now and then, forever
            h.send_response(200)
            h.end_headers()
            for _ in range(300):
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(0.1)
        elif path == "/slow-headers":  # a header that never ends
            h.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
            for _ in range(300):
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(0.1)
        else:
            h.send_error(404)

    @staticmethod
    def redirect(h, location: str) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def origin():
    server = Origin()
    yield server
    server.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One service (models load once) with the default settings: fetching off."""
    tmp = tmp_path_factory.mktemp("fetch")
    svc = make_service(tmp, f"sqlite:///{tmp / 'tamis.db'}")
    with TestClient(create_app(svc)) as c:
        yield svc, c
    svc.stop()


@pytest.fixture
def api(served, origin):
    """The service's client, fetching as :func:`fetching` turns it on for one test."""
    svc, c = served
    default = svc.fetcher
    origin.requests.clear()
    yield c
    svc.fetcher = default


def fetching(served, **settings) -> None:
    svc, _ = served
    svc.fetcher = Fetcher(replace(svc.settings, **settings))


def error(r) -> tuple[int, str, str]:
    e = r.json()["error"]
    return r.status_code, e["code"], e["message"]


def image_part(url: str) -> dict:
    return {"input": [{"type": "image_url", "image_url": {"url": url}}]}


def wait_job(c, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']}")


@pytest.fixture
def dns(monkeypatch):
    """Names of the test's own (each a list of answers, the last one repeated), and the
    lookups made of them; any other name is looked up as usual."""
    names: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        answers = names[host]
        found = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)) if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in found]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names, lookups


# -- the rules, alone --------------------------------------------------------------------

@pytest.mark.parametrize(("address", "kind"), [
    ("10.1.2.3", "private"), ("192.168.0.1", "private"), ("172.16.5.4", "private"),
    ("169.254.169.254", "link-local"), ("127.0.0.1", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("fc00::1", "private"),
    ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"), ("100.64.0.1", "non-global"), ("2002:7f00:1::", "loopback"),
    ("64:ff9b::a00:1", "private"), ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_address_classes(address, kind):
    assert address_class(ipaddress.ip_address(address)) == kind


def test_allow_list_entries():
    allowed = ("media.test", "cdn.test:8443", "*.example.org", "[::1]:8080")
    assert host_allowed("media.test", 80, allowed) and host_allowed("media.test", 9000, allowed)
    assert host_allowed("cdn.test", 8443, allowed) and not host_allowed("cdn.test", 443, allowed)
    assert host_allowed("img.example.org", 443, allowed) and host_allowed("a.b.example.org", 80, allowed)
    assert not host_allowed("example.org", 443, allowed) and not host_allowed("badexample.org", 443, allowed)
    assert host_allowed("::1", 8080, allowed) and not host_allowed("::1", 80, allowed)
    assert not host_allowed("media.test.evil", 80, allowed)


def test_settings():
    s = load_settings(env={"TAMIS_FETCH_HOSTS": "media.test, *.example.org", "TAMIS_FETCH_ALLOW_NETWORKS":
                           "127.0.0.0/8", "TAMIS_FETCH_TIMEOUT_SECONDS": "2.5"})
    assert s.fetch_hosts == ("media.test", "*.example.org") and s.fetch_allow_networks == ("127.0.0.0/8",)
    assert s.fetch_timeout_seconds == 2.5 and s.fetch_max_redirects == 3 and s.fetch_max_bytes == 0
    assert not Fetcher(load_settings(env={})).enabled  # off by default
    with pytest.raises(ConfigError, match="fetch_allow_networks"):
        Fetcher(replace(s, fetch_allow_networks=("10.0.0.0/33",)))


# -- through the service -----------------------------------------------------------------

def test_off_by_default(api, origin):
    url = f"{origin.base}/cat.jpg"
    for r in (api.post("/v1/scan", json={"url": url}), api.post("/v1/jobs", json={"url": url}),
              api.post("/v1/moderations", json=image_part(url))):
        assert error(r)[:2] == (422, "url_not_allowed") and "fetch_hosts" in error(r)[2]
    assert origin.requests == []
    data_url = f"data:image/jpeg;base64,{base64.b64encode(PHOTO).decode()}"
    assert api.post("/v1/scan", json={"url": data_url}).json()["kind"] == "image"  # data: needs no fetching
    both = api.post("/v1/scan", json={"url": data_url, "text": "hi"})
    assert error(both)[:2] == (422, "invalid_request")
    elsewhere = api.post("/v1/pictrs/validate", json={"url": data_url})  # a route that takes no URL
    assert error(elsewhere)[:2] == (422, "url_not_allowed")


def test_host_not_on_the_allow_list(api, served, origin):
    fetching(served, fetch_hosts=("media.test",), fetch_allow_networks=("127.0.0.0/8",))
    r = api.post("/v1/scan", json={"url": f"{origin.base}/cat.jpg"})
    assert error(r)[:2] == (422, "url_not_allowed") and "'127.0.0.1' is not one the operator allows" in error(r)[2]
    for bad in ("ftp://media.test/cat.jpg", "http://user:pw@media.test/cat.jpg", "http://media.test/ca t.jpg"):
        assert error(api.post("/v1/scan", json={"url": bad}))[:2] == (422, "invalid_request")
    assert origin.requests == []


def test_loopback_refused_without_allowed_networks(api, served, origin):
    fetching(served, fetch_hosts=(f"localhost:{origin.port}", "127.0.0.1"))
    for url in (f"http://localhost:{origin.port}/cat.jpg", f"{origin.base}/cat.jpg"):
        status, code, message = error(api.post("/v1/scan", json={"url": url}))
        assert (status, code) == (422, "url_not_allowed") and "loopback address" in message
    assert origin.requests == []  # refused before connecting


def test_scan_job_and_moderation_fetch_when_allowed(api, served, origin):
    fetching(served, fetch_hosts=("127.0.0.1",), fetch_allow_networks=("127.0.0.0/8",))
    url = f"{origin.base}/cat.jpg?token=secret"
    now = api.post("/v1/scan", json={"url": url}).json()
    assert now["kind"] == "image" and now["width"] > 0 and now["source"] == f"{origin.base}/cat.jpg"
    sent = api.post("/v1/scan", json={"data": base64.b64encode(PHOTO).decode()}).json()
    assert now["hashes"] == sent["hashes"]  # the same bytes as an upload
    job = api.post("/v1/jobs", json={"url": url, "name": "cat.jpg"})
    assert job.status_code == 202
    assert origin.paths() == ["/cat.jpg?token=secret"] * 2  # a job fetches when it is submitted
    done = wait_job(api, job.json()["id"])
    assert done["status"] == "done" and done["result"]["kind"] == "image" and done["result"]["source"] == "cat.jpg"
    moderated = api.post("/v1/moderations", json=image_part(url)).json()
    assert moderated["results"][0]["category_applied_input_types"]["sexual"] == ["image"]
    _, headers = origin.requests[-1]
    assert headers["User-Agent"].startswith("tamis/") and headers["Host"] == f"127.0.0.1:{origin.port}"
    assert "Cookie" not in headers and "Authorization" not in headers


def test_redirects_are_checked_again(api, served, origin):
    fetching(served, fetch_hosts=("127.0.0.1", "10.1.2.3"), fetch_allow_networks=("127.0.0.0/8",))
    assert api.post("/v1/scan", json={"url": f"{origin.base}/hop/3"}).json()["kind"] == "image"
    assert origin.paths() == ["/hop/3", "/hop/2", "/hop/1", "/cat.jpg"]
    status, code, message = error(api.post("/v1/scan", json={"url": f"{origin.base}/hop/4"}))
    assert (status, code) == (422, "fetch_failed") and "more than 3 redirects" in message
    origin.requests.clear()
    status, code, message = error(api.post("/v1/scan", json={"url": f"{origin.base}/away"}))
    assert (code, message) == ("url_not_allowed", "after 1 redirect: host 'elsewhere.test' is not one the "
                               "operator allows (setting fetch_hosts)")
    status, code, message = error(api.post("/v1/scan", json={"url": f"{origin.base}/inside"}))
    assert code == "url_not_allowed" and "10.1.2.3, a private address" in message
    status, code, message = error(api.post("/v1/scan", json={"url": f"{origin.base}/to-ftp"}))
    assert code == "fetch_failed" and "Location must be an http or https URL" in message
    assert origin.paths() == ["/away", "/inside", "/to-ftp"]  # no redirect was followed


def test_size_and_time_limits(api, served, origin):
    fetching(served, fetch_hosts=("127.0.0.1",), fetch_allow_networks=("127.0.0.0/8",), fetch_max_bytes=100_000,
             fetch_timeout_seconds=1.5)
    assert api.post("/v1/scan", json={"url": f"{origin.base}/cat.jpg"}).json()["kind"] == "image"
    for path in ("/huge", "/endless"):
        status, code, message = error(api.post("/v1/scan", json={"url": origin.base + path}))
        assert (status, code) == (413, "too_large") and "100,000 bytes" in message
    for path in ("/slow", "/slow-headers"):  # one deadline for the whole fetch, not one per read
        start = time.monotonic()
        status, code, message = error(api.post("/v1/scan", json={"url": origin.base + path}))
        assert (status, code) == (422, "timeout") and "fetch_timeout_seconds" in message
        assert time.monotonic() - start < 3.5
    status, code, message = error(api.post("/v1/moderations", json=image_part(f"{origin.base}/missing")))
    assert (status, code) == (422, "fetch_failed") and "HTTP 404" in message
    fetching(served, fetch_hosts=("127.0.0.1",), fetch_allow_networks=("127.0.0.0/8",))
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    status, code, _ = error(api.post("/v1/jobs", json={"url": f"http://127.0.0.1:{port}/cat.jpg"}))
    assert (status, code) == (422, "fetch_failed")


# -- the connection goes where the check looked ------------------------------------------

def test_every_address_checked_and_the_checked_one_used(dns, origin):
    names, lookups = dns
    fetcher = Fetcher(load_settings(env={}, fetch_hosts="media.test,mixed.test", fetch_allow_networks="127.0.0.0/8"))
    names["media.test"] = [["127.0.0.1"], ["10.9.9.9"]]  # rebinds after the first answer
    got = fetcher.open(f"http://media.test:{origin.port}/cat.jpg", 10**6).read()
    assert got == PHOTO and lookups == ["media.test"]
    assert origin.requests[-1][1]["Host"] == f"media.test:{origin.port}"  # the name, on the checked address
    names["mixed.test"] = [["127.0.0.1", "10.0.0.7"]]
    with pytest.raises(ServiceError, match="10.0.0.7, a private address") as refused:
        fetcher.open(f"http://mixed.test:{origin.port}/cat.jpg", 10**6)
    assert refused.value.code == "url_not_allowed"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl program to make a certificate")
def test_https_is_pinned_and_checks_the_name(dns, tmp_path):
    """Connected to the checked address, TLS still sends the URL's name (SNI) and checks the
    certificate against it: a certificate for another name is refused."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=media.test", "-addext", "subjectAltName=DNS:media.test", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names_seen: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: names_seen.append(name)
    secure = Origin(tls=server_tls)
    try:
        names, _ = dns
        names["media.test"] = names["other.test"] = [["127.0.0.1"]]
        settings = load_settings(env={}, fetch_hosts="media.test,other.test", fetch_allow_networks="127.0.0.0/8")
        fetcher = Fetcher(settings, ssl_context=ssl.create_default_context(cafile=str(cert)))
        assert fetcher.open(f"https://media.test:{secure.port}/cat.jpg", 10**6).read() == PHOTO
        assert names_seen == ["media.test"]
        with pytest.raises(ServiceError, match="certificate") as wrong:
            fetcher.open(f"https://other.test:{secure.port}/cat.jpg", 10**6)
        assert wrong.value.code == "fetch_failed" and secure.paths() == ["/cat.jpg"]
        with pytest.raises(ServiceError, match="plain http") as down:
            fetcher.open(f"https://media.test:{secure.port}/to-http", 10**6)
        assert down.value.code == "fetch_failed"
    finally:
        secure.close()


def test_a_slow_name_lookup_is_held_to_the_deadline(monkeypatch):
    """getaddrinfo has no timeout: the fetch's deadline covers the lookup too."""
    def slow(*args, **kwargs):
        time.sleep(3)
        raise OSError("too late anyway")

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    fetcher = Fetcher(load_settings(env={}, fetch_hosts="slow.test", fetch_timeout_seconds=0.3))
    with pytest.raises(ServiceError) as late:
        fetcher.open("http://slow.test/cat.jpg", 10**6)
    assert late.value.code == "timeout"  # not the lookup's own failure, 3 s later
