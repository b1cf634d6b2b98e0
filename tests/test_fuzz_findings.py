"""Every input the fuzzer (fuzz/run.py) found failing is kept in fuzz/findings/ and replayed
here through the same targets: each must now give a tamis error or a result, and tamis
must not have caught a foreign exception on the way (logged with a traceback)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from conftest import ROOT

FINDINGS = sorted(p for p in (ROOT / "fuzz" / "findings").glob("*-*-*") if not p.name.endswith(".txt")
                  and "-slow-" not in p.name)
sys.path.insert(0, str(ROOT / "fuzz"))


class _Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.seen.append(f"{record.getMessage()}: {record.exc_info[1]!r}")


@pytest.mark.parametrize("path", FINDINGS, ids=lambda p: p.name)
def test_fuzz_finding_is_a_clean_result(path: Path):
    import targets

    from tamis.errors import TamisError

    fmt = path.name.split("-", 1)[0]
    handler = _Tracebacks()
    logging.getLogger("tamis").addHandler(handler)
    try:
        targets.target_for(fmt)(path.read_bytes())
    except TamisError:
        pass
    finally:
        logging.getLogger("tamis").removeHandler(handler)
    assert not handler.seen, handler.seen


def test_there_are_findings_to_replay():
    assert len(FINDINGS) >= 15
