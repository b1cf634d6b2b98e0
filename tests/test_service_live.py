"""The service as users run it: ``tamis serve`` in its own process, real HTTP on 127.0.0.1,
OpenAI's own client pointed at it, and a server killed with SIGKILL mid-work."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from postgres import free_port

from conftest import SAMPLES


class Server:
    def __init__(self, home, **env) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "TAMIS_HOME": str(home), **{k: str(v) for k, v in env.items()}}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> Server:
        self.log = open(self.env["TAMIS_HOME"] + f"/server-{time.time_ns()}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "tamis.cli.main", "serve", "--port", str(self.port)],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the server exited with {self.proc.returncode}"
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the server did not become ready")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def server(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    s = Server(home).start()
    yield s
    s.stop()


def test_openai_client_against_tamis(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed-without-keys", max_retries=0,
                           _strict_response_validation=True)  # a response of the wrong shape fails here
    one = client.moderations.create(input="I will kill you.")
    assert one.results[0].flagged and one.results[0].categories.violence
    assert one.results[0].category_scores.violence > 0.5
    many = client.moderations.create(model="omni-moderation-latest", input=["What a lovely day", "I will kill you."])
    assert [r.flagged for r in many.results] == [False, True] and many.model == "omni-moderation-latest"
    photo = base64.b64encode((SAMPLES / "cat.jpg").read_bytes()).decode()
    image = {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{photo}"}}
    mixed = client.moderations.create(input=[{"type": "text", "text": "my cat"}, image])
    assert len(mixed.results) == 1 and mixed.results[0].category_applied_input_types.sexual == ["image", "text"]
    with pytest.raises(openai.UnprocessableEntityError) as refused:  # the service fetches no URL
        client.moderations.create(input=[{"type": "image_url", "image_url": {"url": "http://127.0.0.1/x.png"}}])
    assert refused.value.body["code"] == "url_not_allowed"


def test_no_job_lost_when_the_server_is_killed(tmp_path):
    """kill -9 with jobs queued and running: after a restart every job completes, none twice."""
    home = tmp_path / "home"
    home.mkdir()
    # A lease of 5 s: short enough that the jobs running at the kill are soon claimed again, long
    # enough that a worker stalled for a second on a busy 2-core machine keeps its claim.
    env = {"TAMIS_JOB_LEASE_SECONDS": 5, "TAMIS_JOB_WORKERS": 2, "TAMIS_SCAN_PROCESSES": 0}  # jobs only
    words = "the quarterly report covers sales, hiring and the new office in the north; " * 40
    texts = [f"{i}: {words}" for i in range(100)]
    first = Server(home, **env).start()
    ids = []
    try:
        for i, text in enumerate(texts):
            r = httpx.post(first.url + "/v1/jobs", json={"text": text}, headers={"Idempotency-Key": f"doc-{i}"})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            counts = [j["status"] for j in httpx.get(first.url + "/v1/jobs", params={"limit": 500}).json()["jobs"]]
            if counts.count("done") >= 5:
                break
            time.sleep(0.1)
        first.kill()  # mid-work: some done, some running, the rest queued
    finally:
        first.stop()
    assert 5 <= counts.count("done") < 100 and "running" in counts
    second = Server(home, **env).start()
    try:
        again = [httpx.post(second.url + "/v1/jobs", json={"text": t}, headers={"Idempotency-Key": f"doc-{i}"})
                 for i, t in enumerate(texts[:10])]
        assert [r.json()["id"] for r in again] == ids[:10]  # a retried submission is the same job
        assert all(r.status_code == 200 for r in again)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            jobs = {j["id"]: j for j in httpx.get(second.url + "/v1/jobs", params={"limit": 500}).json()["jobs"]}
            if all(j["status"] == "done" for j in jobs.values()):
                break
            time.sleep(0.25)
        assert set(jobs) == set(ids) and all(j["status"] == "done" for j in jobs.values()), \
            {j["status"] for j in jobs.values()}
        retried = [j for j in jobs.values() if j["attempts"] > 1]
        assert retried and all(j["attempts"] == 2 for j in retried)  # those running at the kill, once more
        for job_id, text in zip(ids, texts, strict=True):
            result = httpx.get(f"{second.url}/v1/jobs/{job_id}/result").json()
            assert result["size_bytes"] == len(text.encode()) and result["decision"]["action"] == "allow"
    finally:
        second.stop()


def test_readme_curl_examples_run(server):
    """The README's curl lines, as written, against a running server."""
    import json
    import re
    import shutil

    from conftest import ROOT

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    readme = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "tamis serve &" in b)
    lines = [ln.split("   #")[0].strip() for ln in block.splitlines() if ln.startswith("curl ")]
    assert len(lines) >= 6
    for line in lines:
        cmd = line.replace("localhost:8080", f"127.0.0.1:{server.port}")
        done = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, timeout=120)
        assert done.returncode == 0, (line, done.stderr)
        answer = json.loads(done.stdout)
        assert "error" not in answer, (line, answer)


def test_hostile_clients_do_not_hurt_the_server(server):
    """Truncated uploads, lying lengths, garbage on the wire, a client that vanishes: each
    costs its own request only; the server answers the next one."""
    def raw(data: bytes, close_early: bool = False) -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            out = b""
            try:
                s.sendall(data)
                if close_early:
                    return b""
                s.shutdown(socket.SHUT_WR)
                while chunk := s.recv(65536):
                    out += chunk
            except (TimeoutError, ConnectionResetError, BrokenPipeError):  # hung up on mid-way
                pass
            return out

    head = b"POST /v1/scan HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
    # A body shorter than its Content-Length, then the client goes.
    raw(head + b"Content-Length: 100000\r\n\r\n" + b"\x89PNG" * 100, close_early=True)
    # A length over the limit: refused before the body is read.
    big = raw(head + b"Content-Length: 999999999999\r\n\r\n")
    assert b" 413 " in big.split(b"\r\n", 1)[0] and b"too_large" in big
    # Not HTTP at all, and a header line far too long.
    garbage = raw(b"\x16\x03\x01\x02\x00 garbage\r\n\r\n")
    assert garbage == b"" or garbage.startswith(b"HTTP/1.1 400"), garbage[:80]  # refused, or hung up on
    long_header = raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 200_000 + b"\r\n\r\n")
    assert long_header == b"" or long_header.split(b"\r\n", 1)[0].split()[1] in (b"400", b"431"), long_header[:80]
    # A chunked body cut off mid-chunk.
    raw(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n1000\r\n" + b"y" * 100, close_early=True)
    assert server.proc.poll() is None
    ok = httpx.post(server.url + "/v1/scan", json={"text": "still here?"}, timeout=30)
    assert ok.status_code == 200 and ok.json()["decision"]["action"] == "allow"
    jobs = httpx.get(server.url + "/v1/jobs").json()["jobs"]
    assert jobs == []  # the cut-off upload made no job


def test_slow_clients_are_cut_off(tmp_path):
    """Slowloris: a body or headers trickled a byte at a time, or nothing sent at all, holds its
    connection for body_timeout_seconds, not forever: 408 and closed; an upload that keeps up
    body_min_bytes_per_second goes on past it; the server answers everyone else meanwhile."""
    home = tmp_path / "home"
    home.mkdir()
    server = Server(home, TAMIS_BODY_TIMEOUT_SECONDS=2, TAMIS_BODY_MIN_BYTES_PER_SECOND=1000,
                    TAMIS_JOB_WORKERS=0).start()

    opened: list[socket.socket] = []

    def connect() -> socket.socket:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.setblocking(False)
        opened.append(s)
        return s

    def read(s: socket.socket) -> bytes | None:
        """What came (b"" once closed after it), or None while nothing did."""
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
            return out  # closed
        except BlockingIOError:
            return out or None
        except ConnectionResetError:
            return out

    try:
        body = connect()  # a JSON body of 1,000 bytes, a byte at a time
        body.sendall(b"POST /v1/scan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{")
        head = connect()  # headers, a byte at a time
        idle = connect()  # nothing at all
        steady = connect()  # 12,000 bytes at 2,000 a second: slow, but over the minimum rate
        steady.sendall(b"POST /v1/scan?name=steady.txt HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                       b"Content-Length: 12000\r\n\r\n")
        line = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 1000
        start = time.monotonic()
        answers: dict[str, tuple[float, bytes]] = {}
        sent_steady = i = 0
        while time.monotonic() - start < 9 and len(answers) < 4:
            time.sleep(0.25)
            for name, s in (("body", body), ("head", head), ("idle", idle), ("steady", steady)):
                if name in answers:
                    continue
                got = read(s)
                if got is not None:
                    answers[name] = (time.monotonic() - start, got)
                    continue
                try:
                    if name == "body":
                        s.send(b"a")
                    elif name == "head":
                        s.send(line[i:i + 1])
                    elif name == "steady" and sent_steady < 12000 and i % 2 == 0:
                        s.send(b"tea for two " * 83 + b"tea ")
                        sent_steady += 1000
                except OSError:
                    pass
            i += 1
            t = time.monotonic()
            assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200  # everyone else is served
            assert time.monotonic() - t < 3.0
        for name in ("body", "head", "idle"):
            assert name in answers, f"the {name} connection is still open after 9 s"
            seconds, got = answers[name]
            assert 1.5 <= seconds <= 5, (name, seconds)
        assert answers["idle"][1] == b""  # nothing was asked: closed without an answer
        for name in ("body", "head"):
            got = answers[name][1]
            assert got.startswith(b"HTTP/1.1 408 ") and b'"body_timeout"' in got, got[:300]
            assert b"connection: close" in got.lower()
        assert "steady" in answers and answers["steady"][0] > 4, answers.get("steady")  # past the 2 s, not cut
        assert answers["steady"][1].startswith(b"HTTP/1.1 200 "), answers["steady"][1][:300]
        # Headers over 64 KiB: 431 (or hung up on), not kept in memory however long they go on.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            got = b""
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 1024 * 1024)
                while chunk := s.recv(65536):
                    got += chunk
            except (ConnectionResetError, BrokenPipeError):
                pass
            assert got == b"" or got.startswith(b"HTTP/1.1 431 "), got[:200]
        # Answered before its body is read (too large, a NUL in the URL): the connection is
        # closed, not kept reading what the client goes on sending.
        for request, status in ((b"POST /v1/scan HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\nx", 413),
                                (b"POST /v1/scan?n=%00 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx", 422)):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(request)
                got = b""
                while chunk := s.recv(65536):  # ends: the server closed it
                    got += chunk
                assert got.startswith(b"HTTP/1.1 %d " % status) and b"connection: close" in got.lower(), got[:300]
        assert httpx.post(server.url + "/v1/scan", json={"text": "still here?"}, timeout=30).status_code == 200
    finally:
        for s in opened:
            s.close()
        server.stop()
