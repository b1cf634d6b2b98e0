"""The fixed tamis taxonomy and its red line (see docs/TAXONOMY.md).

Every finding carries exactly one label from :data:`LABELS`. A sub-label
(``parent/child``) implies its parent. Faces are described only by the
attributes in :data:`FACE_ATTRIBUTES`; any request for a personal
characteristic in :data:`PROHIBITED_ATTRIBUTES` is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tamis.errors import ProhibitedAttributeError, UnknownLabelError

LABELS: dict[str, str] = {
    "sexual": "sexual content of any degree",
    "sexual/explicit": "exposed genitals or anus, sexual acts",
    "sexual/suggestive": "partial nudity, lingerie, sexualised poses",
    "sexual/minors": "sexual content involving minors",
    "violence": "violent content",
    "violence/graphic": "gore, blood, injuries",
    "violence/threat": "threats or incitement to violence",
    "weapons": "firearms, knives and other weapons",
    "hate": "attacks on people for a protected characteristic",
    "hate/threatening": "hate that also threatens violence",
    "harassment": "insults, bullying, degrading a person",
    "harassment/threatening": "harassment that also threatens",
    "self_harm": "suicide and self-injury content",
    "self_harm/intent": "the writer intends to self-harm",
    "self_harm/instructions": "how-to for self-harm",
    "extremism": "terrorist or violent-extremist propaganda or praise",
    "drugs": "illegal drug sale or use",
    "spam": "unsolicited advertising or scams",
    "spam/scam": "phishing, fraud, fake giveaways",
    "profanity": "vulgar or obscene language",
    "pii": "personal data",
    "pii/email": "an e-mail address",
    "pii/phone": "a telephone number",
    "pii/credit_card": "a payment card number (Luhn-valid)",
    "pii/iban": "an IBAN (checksum-valid)",
    "pii/national_id": "a national identity number (checksum-valid)",
    "pii/ip_address": "an IP address",
    "pii/url": "a URL",
    "qr_code": "a QR code or barcode; the decoded payload is in the finding",
    "known_content": "matches an entry in a hash bank",
    "blocklist": "matches an operator's custom term or pattern list",
}

#: The only things tamis says about a face.
FACE_ATTRIBUTES: dict[str, str] = {
    "eyes_open": "both eyes are open",
    "smiling": "the mouth is smiling",
    "glasses": "the person wears glasses or sunglasses",
}

#: Personal characteristics tamis never infers, with the words people use to ask for them.
PROHIBITED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "race": ("race", "racial", "ethnicity", "ethnic", "ethnic_group", "ethnic_origin",
             "skin_colour", "skin_color", "skin_tone", "complexion", "ancestry", "uyghur",
             "uighur", "minority"),
    "nationality": ("nationality", "national_origin", "citizenship", "country_of_origin"),
    "religion": ("religion", "religious", "faith", "belief", "creed"),
    "gender": ("gender", "sex", "male", "female", "man", "woman", "face_male",
               "face_female", "gender_identity"),
    "age": ("age", "age_range", "agerange", "age_group", "birth_year", "child", "adult",
            "minor_age", "estimated_age"),
    "sexual_orientation": ("orientation", "sexual_orientation", "sexuality", "gay",
                           "lesbian", "homosexual", "heterosexual"),
    "health": ("health", "disability", "disabled", "illness", "medical_condition",
               "pregnancy", "pregnant"),
    "political_opinion": ("political_opinion", "politics", "political", "party"),
    "identity": ("identity", "identify", "identification", "recognize", "recognise",
                 "recognition", "face_recognition", "face_id", "faceprint", "person_id",
                 "celebrity", "name", "who"),
}

_PROHIBITED_INDEX = {word: group for group, words in PROHIBITED_ATTRIBUTES.items()
                     for word in words}


def _normal(word: str) -> str:
    return re.sub(r"[\s\-.]+", "_", word.strip().lower())


def prohibited_group(word: str) -> str | None:
    """The prohibited characteristic that ``word`` asks for, or None."""
    w = _normal(word)
    if w in _PROHIBITED_INDEX:
        return _PROHIBITED_INDEX[w]
    for part in re.split(r"[_/:]", w):
        if part in _PROHIBITED_INDEX:
            return _PROHIBITED_INDEX[part]
    return None


def refuse_if_prohibited(word: str) -> None:
    """Raise :class:`ProhibitedAttributeError` if ``word`` names a personal characteristic."""
    group = prohibited_group(word)
    if group is not None:
        raise ProhibitedAttributeError(word, group)


def check_label(label: str) -> str:
    """Return ``label`` if it is in the taxonomy; refuse prohibited ones, reject unknown ones."""
    if label in LABELS:
        return label
    refuse_if_prohibited(label)
    raise UnknownLabelError(label)


def check_labels(labels: Iterable[str]) -> list[str]:
    return [check_label(label) for label in labels]


def check_face_attributes(names: Iterable[str]) -> list[str]:
    """Validate a request for face attributes: only :data:`FACE_ATTRIBUTES` may be asked for."""
    out = []
    for name in names:
        if name in FACE_ATTRIBUTES:
            out.append(name)
            continue
        refuse_if_prohibited(name)
        raise UnknownLabelError(name, kind="face attribute", known=sorted(FACE_ATTRIBUTES))
    return out


def parent(label: str) -> str | None:
    return label.split("/", 1)[0] if "/" in label else None


def lineage(label: str) -> list[str]:
    """The label followed by its ancestors, most specific first."""
    out = [label]
    p = parent(label)
    if p:
        out.append(p)
    return out
