"""Personal data in text, with exact spans and validation (checksums, number metadata).

Recognisers are data: a label, a pattern, a validator and a score, in the spirit of
Presidio's pattern recognisers. Candidates that fail validation are dropped, which is what
keeps random numbers from being reported as card numbers or identity numbers.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.results import Finding
from tamis.text import checksums as ck


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _card(m: str) -> str | None:
    d = _digits(m)
    if not 13 <= len(d) <= 19 or not ck.luhn(d):
        return None
    brand = ck.card_brand(d)
    return f"{brand} card, Luhn valid" if brand else None


def _iban(m: str) -> str | None:
    compact = m.replace(" ", "").upper()
    return f"IBAN ({compact[:2]}), checksum valid" if ck.iban_valid(compact) else None


def _ip(m: str) -> str | None:
    try:
        addr = ipaddress.ip_address(m)
    except ValueError:
        return None
    if addr.version == 6 and m.count(":") < 3:
        return None
    return f"IPv{addr.version} address" + (", private range" if addr.is_private else "")


def _cn_id(m: str) -> str | None:
    year, month, day = int(m[6:10]), int(m[10:12]), int(m[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return "Chinese resident identity number, check digit valid" if ck.cn_resident_id(m) else None


def _check(fn: Callable[[str], bool], what: str, clean: Callable[[str], str] = _digits):
    return lambda m: f"{what}, check digit valid" if fn(clean(m)) else None


def _strip(m: str) -> str:
    return re.sub(r"[\s\-]", "", m)


@dataclass(frozen=True)
class Recognizer:
    name: str
    label: str
    pattern: re.Pattern
    validate: Callable[[str], str | None]
    score: float
    #: Words one of which must appear within 40 characters before the match (case-insensitive).
    context: tuple[str, ...] = ()
    #: When two matches overlap, the higher priority wins (then the longer).
    priority: int = 0


R = re.compile
RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer("email", "pii/email", R(r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
                                       r"(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])"),
               lambda m: "e-mail address" if ".." not in m else None, 0.95, priority=5),
    Recognizer("url", "pii/url", R(r"(?<![\w@])(?:https?://|ftp://|www\.)[^\s<>\"'`]{2,2000}"),
               lambda m: "URL", 0.9, priority=4),
    Recognizer("credit_card", "pii/credit_card", R(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"), _card, 1.0,
               priority=8),
    Recognizer("iban", "pii/iban", R(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"),
               _iban, 1.0, priority=9),
    Recognizer("ipv4", "pii/ip_address", R(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"), _ip, 0.85,
               priority=3),
    Recognizer("ipv6", "pii/ip_address", R(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])"),
               _ip, 0.85, priority=3),
    Recognizer("es_dni", "pii/national_id", R(r"(?<![\w])[XYZxyz]?\d{7,8}-?[A-Za-z](?![\w])"),
               _check(ck.es_dni, "Spanish DNI/NIE", _strip), 0.95, priority=7),
    Recognizer("br_cpf", "pii/national_id", R(r"(?<![\d.])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\d])"),
               _check(ck.br_cpf, "Brazilian CPF"), 0.95, priority=7),
    Recognizer("br_cpf_context", "pii/national_id", R(r"(?<!\d)\d{11}(?!\d)"),
               _check(ck.br_cpf, "Brazilian CPF"), 0.9, context=("cpf",), priority=6),
    Recognizer("cn_resident_id", "pii/national_id", R(r"(?<![\d])\d{17}[\dXx](?![\w])"), _cn_id, 0.95,
               priority=7),
    Recognizer("in_aadhaar", "pii/national_id", R(r"(?<![\d])[2-9]\d{3}[ -]\d{4}[ -]\d{4}(?![\d])"),
               _check(ck.aadhaar, "Indian Aadhaar"), 0.9, priority=7),
    Recognizer("in_aadhaar_context", "pii/national_id", R(r"(?<![\d])[2-9]\d{11}(?![\d])"),
               _check(ck.aadhaar, "Indian Aadhaar"), 0.9, context=("aadhaar", "aadhar", "uid"), priority=6),
    Recognizer("it_codice_fiscale", "pii/national_id",
               R(r"(?<![\w])[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]"
                 r"[0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z](?![\w])"),
               _check(ck.it_codice_fiscale, "Italian codice fiscale", str.upper), 0.95, priority=7),
    Recognizer("fr_nir", "pii/national_id",
               R(r"(?<![\d])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}(?![\d])"),
               _check(ck.fr_nir, "French NIR", lambda m: m.replace(" ", "")), 0.95, priority=7),
    Recognizer("nl_bsn", "pii/national_id", R(r"(?<![\d])\d{4}\.?\d{2}\.?\d{3}(?![\d])"),
               _check(ck.nl_bsn, "Dutch BSN"), 0.9, context=("bsn", "burgerservicenummer", "sofinummer"),
               priority=6),
)

_URL_TRAIL = ".,;:!?)]}'\"»”’"


def _has_context(text: str, start: int, words: tuple[str, ...]) -> bool:
    before = text[max(0, start - 40):start].lower()
    return any(w in before for w in words)


def find_pii(text: str, phone_region: str = "US") -> list[tuple[int, int, str, float, str, str]]:
    """(start, end, label, score, recogniser, explanation) of every validated match, no overlaps."""
    found = []
    for rec in RECOGNIZERS:
        for m in rec.pattern.finditer(text):
            start, end, value = m.start(), m.end(), m.group()
            if rec.name == "url":
                stripped = value.rstrip(_URL_TRAIL)
                end -= len(value) - len(stripped)
                value = stripped
            if rec.context and not _has_context(text, start, rec.context):
                continue
            why = rec.validate(value)
            if why:
                found.append((start, end, rec.label, rec.score, rec.name, why, rec.priority))
    found.extend(_phones(text, phone_region))
    found.sort(key=lambda f: (-f[6], -(f[1] - f[0]), f[0]))
    # Keep the best of overlapping matches. The kept spans do not overlap, so sorted by
    # start they are sorted by end too: a new span need only be checked against its two
    # neighbours (n log n; checking every kept span was quadratic: a 1 MB text of
    # addresses took minutes).
    starts: list[int] = []
    kept: list = []
    for f in found:
        i = bisect.bisect_left(starts, f[0])
        if i > 0 and kept[i - 1][1] > f[0]:
            continue
        if i < len(kept) and kept[i][0] < f[1]:
            continue
        starts.insert(i, f[0])
        kept.insert(i, f)
    return [f[:6] for f in kept]


def _phones(text: str, region: str):
    import phonenumbers
    from phonenumbers import Leniency, PhoneNumberFormat

    out = []
    for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=Leniency.VALID, max_tries=1000):
        e164 = phonenumbers.format_number(m.number, PhoneNumberFormat.E164)
        out.append((m.start, m.end, "pii/phone", 0.8, "phone", f"phone number {e164}", 2))
    return out


def mask(text: str, spans: list[tuple[int, int]], char: str = "*") -> str:
    """``text`` with every character inside ``spans`` (except spaces) replaced by ``char``."""
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if not chars[i].isspace():
                chars[i] = char
    return "".join(chars)


class PiiDetector(Detector):
    masks_text = True
    name = "pii"
    version = "pii-1"
    labels = frozenset({"pii/email", "pii/phone", "pii/credit_card", "pii/iban", "pii/national_id",
                        "pii/ip_address", "pii/url"})
    kinds = frozenset({"text"})
    requires = ("phonenumbers",)
    description = "personal data with exact spans: e-mail, phone, card, IBAN, national ids, IP, URL"

    def __init__(self, threads: int = 0, phone_region: str = "US") -> None:
        super().__init__(threads)
        self.phone_region = phone_region

    def analyze_one(self, content: Content) -> Output:
        from tamis.results import Location, Span

        out = Output()
        for start, end, label, score, rec, why in find_pii(content.text, self.phone_region):
            out.findings.append(Finding(label, score, self.name, self.version,
                                        Location(span=Span(start, end)), explanation=why,
                                        data={"recognizer": rec, "text": content.text[start:end]}))
        return out
