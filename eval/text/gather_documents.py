"""50 ordinary documents from this machine's own files: licences, Debian changelogs and copyright
files, and manual pages. None of them should ever go to review or be blocked.

They are read where they are (their first 6,000 characters), not copied into tamis: they carry
other projects' licences. ``python eval/text/gather_documents.py`` writes the list,
eval/text/documents/INDEX.json; :func:`read` reads the documents back on any Debian machine
(eval/text/functional.py and the tests use it). The packages named here are left out of the
training and validation data (tamis.training.text_sources.TEST_DOCUMENT_PACKAGES)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

OUT = Path(__file__).parent / "documents"
LIMIT = 6000
LICENCES = ["Apache-2.0", "GPL-3", "GPL-2", "LGPL-2.1", "LGPL-3", "MPL-2.0", "Artistic", "BSD", "CC0-1.0",
            "GFDL-1.3"]
CHANGELOGS = ["bash", "coreutils", "curl", "git", "gzip", "openssl", "perl", "python3", "tar", "wget", "xz-utils",
              "zlib1g", "sed", "grep", "make"]
COPYRIGHTS = ["bash", "coreutils", "curl", "git", "openssl", "perl", "tar", "libc6", "gcc-12", "sqlite3"]
MANPAGES = ["kill", "ls", "grep", "tar", "ssh", "git", "curl", "find", "rsync", "bash", "openssl", "make", "gzip",
            "sed", "ps", "cp", "diff"]


def read(entry: dict) -> str | None:
    """The text of one listed document, or None when this machine does not have it."""
    from tamis.training.text_sources import read_document

    text = man(entry["page"]) if entry["kind"] == "man" else read_document(Path(entry["path"]), LIMIT)
    return text[:LIMIT] if text else None


def man(name: str) -> str | None:
    try:
        out = subprocess.run(["man", "-P", "cat", name], capture_output=True, text=True, timeout=30,
                             env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return re.sub(r".\x08", "", out.stdout) if out.returncode == 0 and out.stdout.strip() else None


def main() -> None:
    OUT.mkdir(exist_ok=True)
    entries: list[dict] = []
    for name in LICENCES:
        entries.append({"name": f"licence-{name}", "kind": "file", "path": f"/usr/share/common-licenses/{name}"})
    for pkg in CHANGELOGS:
        entries.append({"name": f"changelog-{pkg}", "kind": "file",
                        "path": f"/usr/share/doc/{pkg}/changelog.Debian.gz"})
    for pkg in COPYRIGHTS:
        entries.append({"name": f"copyright-{pkg}", "kind": "file", "path": f"/usr/share/doc/{pkg}/copyright"})
    for page in MANPAGES:
        entries.append({"name": f"man-{page}", "kind": "man", "page": page})
    entries = [e for e in entries if read(e)][:50]
    (OUT / "INDEX.json").write_text(json.dumps({"documents": entries, "chars_each": LIMIT}, indent=1) + "\n")
    print(len(entries), "documents")


if __name__ == "__main__":
    main()
