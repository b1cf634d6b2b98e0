"""Nothing leaves the machine: a scan of every content kind, watched by strace.

The scan runs in a subprocess with a fresh HOME, TAMIS_HOME and temp folder, under
``strace -f`` (worker processes included). The test fails on any connection or datagram to
an IPv4 or IPv6 address, and on any file or folder created or written outside TAMIS_HOME,
the temp folder and the outputs asked for. A dependency added later is covered by the same
run: it is loaded by the same scan.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from documents import docx, eml, html_page, odt, tar_gz_of, text_pdf, zip_of

from conftest import ROOT

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="needs strace (.ci/run installs it)")

_NET = re.compile(r"^(\d+)\s+(connect|sendto|sendmsg|sendmmsg)\((.*)$")
_OPEN = re.compile(r'^(\d+)\s+(?:open|openat|creat)\((?:AT_FDCWD, |\d+<[^>]*>, )?"([^"]*)", ([A-Z_|]+)?.*\) = (\d+)')
_MKDIR = re.compile(r'^(\d+)\s+(?:mkdir|mkdirat)\((?:AT_FDCWD, )?"([^"]*)".*\) = 0')
_RENAME = re.compile(r'^(\d+)\s+rename(?:at2?)?\((?:AT_FDCWD, )?"[^"]*", (?:AT_FDCWD, )?"([^"]*)".*\) = 0')


def _inputs(folder: Path) -> list[Path]:
    """One input of every content kind and of each family of formats."""
    samples = ROOT / "samples"
    files = [samples / "images" / "cat.jpg", samples / "images" / "animated_sale.gif",
             samples / "images" / "qr_payment.png", samples / "images" / "product_barcode.webp",
             samples / "video" / "holiday_clip.mkv", samples / "documents" / "meeting_notes.pdf",
             samples / "documents" / "prize_letter.docx", samples / "documents" / "shared_folder.zip"]
    made = {
        "letter.pdf": text_pdf(["Call me at +1 202 555 0143 or write to someone@example.com"]),
        "notes.docx": docx(["Quarterly notes"], image=samples / "images" / "coffee.jpg"),
        "notes.odt": odt(["An OpenDocument text"]),
        "page.html": html_page("<p>Click http://example.com/win to claim your prize</p>"),
        "mail.eml": eml("See the attached picture.", [("cat.jpg", (samples / "images" / "cat.jpg").read_bytes(),
                                                      "image/jpeg")]),
        "bundle.tar.gz": tar_gz_of({"a.txt": b"hello there",
                                    "b.jpg": (samples / "images" / "coffee.jpg").read_bytes()}),
        "archive.zip": zip_of({"readme.txt": b"nothing to see"}),
        "message.txt": b"I will find where you live. Email me at a@b.example",
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
        files.append(folder / name)
    return files


def _trace(cmd: list[str], env: dict, cwd: Path, log: Path) -> subprocess.CompletedProcess:
    traced = [STRACE, "-f", "-qq", "-s", "512", "-o", str(log),
              "-e", "trace=connect,sendto,sendmsg,sendmmsg,open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2",
              *cmd]
    return subprocess.run(traced, env=env, cwd=cwd, capture_output=True, timeout=900)


def _violations(log: Path, allowed: list[Path], cwd: Path) -> list[str]:
    bad = []
    # Python's own bytecode cache beside the installed code is not tamis's to write or not.
    prefixes = [str(p.resolve()) for p in allowed] + ["/dev/", "/proc/"]
    for line in log.read_text(errors="replace").splitlines():
        m = _NET.match(line)
        if m and ("AF_INET" in m.group(3)):
            bad.append(f"network: {line}")
            continue
        path = None
        if (m := _OPEN.match(line)) and m.group(3) and re.search(r"O_WRONLY|O_RDWR|O_CREAT", m.group(3)):
            path = m.group(2)
        elif m := _MKDIR.match(line) or _RENAME.match(line):
            path = m.group(2)
        if path is None:
            continue
        full = os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd, path))
        if "/__pycache__/" in full or any(full == p or full.startswith(p.rstrip("/") + "/") for p in prefixes):
            continue
        bad.append(f"file written: {full}  ({line[:160]})")
    return bad


@pytest.mark.slow
def test_scans_of_every_kind_contact_no_host_and_write_only_where_told(tmp_path):
    home, tamis_home, tmp, out, work = (tmp_path / d for d in ("home", "tamis-home", "tmp", "out", "work"))
    for d in (home, tamis_home, tmp, out, work):
        d.mkdir()
    inputs = _inputs(work)
    texts = work / "texts.jsonl"
    texts.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in enumerate(
        ["I will kill you.", "buy cheap pills now at http://pills.example", "a calm sentence"])) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAMIS_", "XDG_", "MPLCONFIGDIR"))}
    env.update(HOME=str(home), TAMIS_HOME=str(tamis_home), TMPDIR=str(tmp))
    tamis = [sys.executable, "-m", "tamis.cli.main"]
    runs = [
        # Every kind, two worker processes (each loads every model), pictures and a report.
        [*tamis, "scan", *map(str, inputs), "--workers", "2", "--text", "call me on 555 0143",
         "-f", "json", "-o", str(out / "results.json"), "--report", str(out / "report.html"),
         "--annotate", str(out / "annotated"), "--no-progress"],
        # In this process (no workers), and the bulk text mode.
        [*tamis, "scan", str(inputs[0]), str(inputs[5]), "--workers", "1", "--no-progress"],
        [*tamis, "scan", "--jsonl", str(texts), "-o", str(out / "texts.out.jsonl")],
    ]
    problems = []
    for i, cmd in enumerate(runs):
        log = tmp_path / f"strace-{i}.log"
        proc = _trace(cmd, env, work, log)
        assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")[-3000:]
        problems += _violations(log, [tamis_home, tmp, out], work)
    assert not problems, "\n".join(problems[:40])
    assert not (home / ".cache" / "Microsoft").exists()
    assert (out / "results.json").is_file() and (out / "texts.out.jsonl").is_file()
