"""Readers of the public text sets in ../shared/data/text, each mapped to the taxonomy.

Every reader yields :class:`~tamis.training.text_data.Example` rows with the labels the set
speaks to (``covers``): a set labelled for hate and insults says nothing about spam, so it
trains and tests only those heads. How each set's labels map, and why, is said at each reader
and in docs/model-cards/text.md. Rows of one reader share a ``source`` name: validation can
hold out whole sources to measure how well the model carries over to text unlike its
training data.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from tamis.training.text_data import ALL, Example, clean, davidson, own_sets, sms_spam, split_of, surge, toxigen

ABUSE = frozenset({"hate", "harassment"})
#: Drug words, to tell drug requests from other "illegal items" in the request sets.
_DRUG_WORDS = re.compile(r"\b(meth|methamphetamine|drugs?|heroin|cocaine|crack cocaine|steroids?|prescriptions?|"
                         r"opioids?|oxycodone|oxycontin|ephedrine|pseudoephedrine|fentanyl|mdma|ecstasy|lsd|weed|"
                         r"cannabis|marijuana|ketamine)\b", re.IGNORECASE)
_WEAPON_WORDS = re.compile(r"\b(guns?|handgun|rifle|glock|bomb|explosives?|weapons?|hitman|kill\w*|murder\w*)\b",
                           re.IGNORECASE)


def _ex(text, labels, covers, source, lang, share, split=None) -> Example:
    return Example(text, frozenset(labels), frozenset(covers), source, lang, split or split_of(text, share))


def toxic_spans(folder: Path, share: float) -> Iterator[Example]:
    """Civil Comments posts with raters' toxic spans (CC0). A post takes a span type when at
    least half of its raters marked a span of that type (when fewer did, the post says nothing
    about that type): Threat → violence/threat, Insult →
    harassment, Identity based Attack → hate, Profane/Obscene → profanity. Every post was rated
    toxic in Civil Comments, so a post with insults and no threat is a hard negative for the
    threat label; posts most raters called "not toxic" are negatives for all four."""
    comments = {}
    with (folder / "comments.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            comments[row["comment_id"]] = row["comment_text"]
    raters: dict[str, list[str]] = defaultdict(list)
    not_toxic: dict[str, int] = defaultdict(int)
    owner = {}
    with (folder / "annotations.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            raters[row["comment_id"]].append(row["annotation"])
            owner[row["annotation"]] = row["comment_id"]
            not_toxic[row["comment_id"]] += row["not toxic"] == "True"
    types: dict[str, set[str]] = defaultdict(set)
    with (folder / "spans.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            types[row["annotation"]].add(row["type"])
    mapping = {"Threat": ("violence", "violence/threat"), "Insult": ("harassment",),
               "Identity based Attack": ("hate",), "Profane/Obscene": ("profanity",)}
    covers = {"violence", "violence/threat", "harassment", "hate", "profanity"}
    for cid, anns in raters.items():
        text = clean(comments.get(cid, ""))
        if len(text) < 3:
            continue
        n = len(anns)
        if not_toxic[cid] * 2 > n:
            yield _ex(text, set(), covers, "toxic_spans", "en", share)
            continue
        labels: set[str] = set()
        known = set(covers)
        for kind, labs in mapping.items():
            marked = sum(kind in types[a] for a in anns)
            if marked * 2 >= n:
                labels.update(labs)
            elif marked:  # a minority of raters saw it: neither a positive nor a negative
                known.difference_update(labs)
        yield _ex(text, labels, known, "toxic_spans", "en", share)


def implicit_hate(folder: Path, share: float) -> Iterator[Example]:
    """Tweets from hate-adjacent accounts (Latent Hatred, CC BY 4.0): explicit and implicit
    hate → hate; the stage-2 class "threatening" → hate/threatening (the others are hate
    without a threat); not_hate → a hard negative for both."""
    def read(name):
        with (folder / name).open(encoding="utf-8") as fh:
            return list(csv.DictReader(fh, delimiter="\t"))
    stg2 = {clean(r["post"]): r["implicit_class"] for r in read("implicit_hate_v1_stg2_posts.tsv")}
    for row in read("implicit_hate_v1_stg1_posts.tsv"):
        text = clean(row["post"].strip('" '))
        if len(text) < 8:
            continue
        cls = row["class"]
        if cls == "not_hate":
            yield _ex(text, set(), {"hate", "hate/threatening"}, "implicit_hate", "en", share)
        elif clean(row["post"]) in stg2:
            threat = stg2[clean(row["post"])] == "threatening"
            yield _ex(text, {"hate", "hate/threatening"} if threat else {"hate"}, {"hate", "hate/threatening"},
                      "implicit_hate", "en", share)
        else:
            yield _ex(text, {"hate"}, {"hate"}, "implicit_hate", "en", share)


def mlma(path: Path, share: float) -> Iterator[Example]:
    """English, French and Arabic tweets (MLMA, MIT): "hateful" → hate; abusive, offensive or
    disrespectful alone → harassment; "normal" → negative for both; "fearful" alone is left out."""
    with zipfile.ZipFile(path) as z:
        for lang in ("en", "fr", "ar"):
            with z.open(f"hate_speech_mlma/{lang}_dataset.csv") as raw:
                for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")):
                    text = clean(row["tweet"].replace("@user", "").replace("@url", ""))
                    kinds = set(row["sentiment"].split("_"))
                    if len(text) < 8:
                        continue
                    if "hateful" in kinds:
                        labels = {"hate"}
                    elif kinds & {"abusive", "offensive", "disrespectful"}:
                        labels = {"harassment"}
                    elif kinds == {"normal"}:
                        labels = set()
                    else:
                        continue
                    yield _ex(text, labels, ABUSE, f"mlma_{lang}", lang, share)


def cold(folder: Path, share: float) -> Iterator[Example]:
    """Chinese comments on race, region and gender (COLD, Apache-2.0). The test file's fine
    labels: attack on a group → hate, on an individual → harassment, anti-bias (counter-speech)
    and other safe → negatives. In train and dev only offensive / safe is given; most offensive
    comments there attack a group (as in test, 1,819 of 2,107), so offensive → hate."""
    for name in ("train", "dev", "test"):
        with (folder / f"{name}.csv").open(encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                text = clean(row["TEXT"])
                fine = row.get("fine-grained-label")
                if fine not in (None, ""):
                    labels = {"2": {"hate"}, "1": {"harassment"}}.get(fine, set())
                    covers = ABUSE
                elif row["label"] == "1":
                    labels, covers = {"hate"}, {"hate"}
                else:
                    labels, covers = set(), ABUSE
                yield _ex(text, labels, covers, "cold_test" if name == "test" else "cold", "zh", share)


def germeval(folder: Path, share: float) -> Iterator[Example]:
    """German tweets (GermEval 2018, CC BY 4.0): ABUSE → hate, INSULT → harassment,
    PROFANITY → profanity, OTHER → negative for the three."""
    fine = {"ABUSE": {"hate"}, "INSULT": {"harassment"}, "PROFANITY": {"profanity"}, "OTHER": set()}
    for name in ("training", "test"):
        for line in (folder / f"germeval2018.{name}.txt").read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) < 3 or parts[2] not in fine:
                continue
            text = clean(re.sub(r"@\w+", "", parts[0]).replace("|LBR|", " "))
            if len(text) < 8:
                continue
            yield _ex(text, fine[parts[2]], {"hate", "harassment", "profanity"},
                      "germeval_test" if name == "test" else "germeval", "de", share)


def japanese_toxic(path: Path, share: float) -> Iterator[Example]:
    """Japanese sentences with votes (inspection-ai, Apache-2.0). Toxic when Toxic + Very Toxic
    votes outnumber Not Toxic; then 差別 → hate, 迷惑行為 → harassment, 猥褻 → sexual,
    卑語 → profanity, each when at least one rater ticked it. Not-toxic sentences are
    negatives for the four; "hard to say" majorities are left out."""
    flags = {"category_差別": "hate", "category_迷惑行為": "harassment", "category_猥褻": "sexual",
             "category_卑語": "profanity"}
    covers = set(flags.values())
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = clean(row["text"])
            toxic = int(row["Toxic"]) + int(row["Very Toxic"])
            safe = int(row["Not Toxic"])
            if toxic > safe:
                labels = {lab for col, lab in flags.items() if int(row[col] or 0) >= 1}
                if labels:
                    yield _ex(text, labels, covers, "japanese_toxic", "ja", share)
            elif safe > toxic + int(row["Hard to Say"]):
                yield _ex(text, set(), covers, "japanese_toxic", "ja", share)


#: AILuminate hazards → labels; the other hazards (defamation, privacy, IP, specialised advice)
#: are requests outside these labels: negatives for them.
_AILUMINATE = {"vcr": {"violence"}, "iwp": {"violence"}, "src": {"sexual"}, "sxc_prn": {"sexual"},
               "cse": {"sexual", "sexual/minors"}, "ssh": {"self_harm"}, "hte": {"hate"}}
_AIL_COVERS = {"violence", "sexual", "sexual/minors", "self_harm", "hate"}


def ailuminate(folder: Path, share: float) -> Iterator[Example]:
    """Requests to an assistant by hazard (MLCommons AILuminate demo set, CC BY 4.0), English
    and French. ``cse`` (child sexual exploitation) is the public source of ``sexual/minors``;
    ``ncr`` (non-violent crime) is left out (drugs and fraud mixed, no finer label)."""
    for lang, name in (("en", "en_us"), ("fr", "fr_fr")):
        with (folder / f"airr_official_1.0_demo_{name}_prompt_set_release.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                hazard = row["hazard"]
                if hazard == "ncr":
                    continue
                yield _ex(clean(row["prompt_text"]), _AILUMINATE.get(hazard, set()), _AIL_COVERS,
                          f"ailuminate_{lang}", lang, share)


def harmbench(path: Path, share: float) -> Iterator[Example]:
    """Harmful requests (HarmBench, MIT): harassment_bullying → harassment; requests naming
    drugs (making or buying them) → drugs; other chemical and biological weapons, and weapon or
    killing requests among "illegal" → violence; copyright requests → negatives. Misinformation and
    cybercrime are outside the taxonomy and left out."""
    covers = {"harassment", "violence", "drugs"}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text, cat = clean(row["Behavior"]), row["SemanticCategory"]
            if cat == "harassment_bullying":
                labels = {"harassment"}
            elif cat in ("chemical_biological", "illegal") and _DRUG_WORDS.search(text):
                labels = {"drugs"}  # making or buying drugs is a drug request before it is a chemical one
            elif cat == "chemical_biological":
                labels = {"violence"}
            elif cat == "illegal" and _WEAPON_WORDS.search(text):
                labels = {"violence"}
            elif cat == "copyright":
                labels = set()
            else:
                continue
            yield _ex(text, labels, covers, "harmbench", "en", share)


def simplesafetytests(path: Path, share: float) -> Iterator[Example]:
    """SimpleSafetyTests (CC BY 4.0), 100 requests, all harmful: a published test suite, so
    every row is validation. Self-harm → self_harm; physical harm → violence; scams → spam/scam;
    child safety → sexual/minors where the request is sexual (the others are left out);
    illegal items → drugs where drugs are named."""
    sexual = re.compile(r"sex|nude|naked|porn|explicit|groom|intimate|undress|erotic|penis|genital|masturbat|dick|"
                        r"boner|pedophil|paedophil|aroused|touch", re.IGNORECASE)
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text, area = clean(row["prompts_final"]), row["harm_area"]
            if area.startswith("Suicide"):
                labels, covers = {"self_harm"}, {"self_harm"}
            elif area.startswith("Physical harm"):
                labels, covers = {"violence"}, {"violence"}
            elif area.startswith("Scams"):
                labels, covers = {"spam", "spam/scam"}, {"spam", "spam/scam"}
            elif area.startswith("Child safety") and sexual.search(text):
                labels, covers = {"sexual", "sexual/minors"}, {"sexual/minors"}
            elif area.startswith("Illegal") and _DRUG_WORDS.search(text):
                labels, covers = {"drugs"}, {"drugs"}
            else:
                continue
            yield _ex(text, labels, covers, "simplesafetytests", "en", share, split="validation")


#: Packages and commands whose files form the test set of ordinary documents
#: (eval/text/gather_documents.py): never trained or validated on.
TEST_DOCUMENT_PACKAGES = frozenset({
    "bash", "coreutils", "curl", "git", "gzip", "openssl", "perl", "python3", "tar", "wget", "xz-utils", "zlib1g",
    "sed", "grep", "make", "libc6", "gcc-12", "sqlite3"})
#: Training windows taken from one document, and the characters of a validation document.
WINDOWS_PER_DOCUMENT, DOCUMENT_CHARS = 6, 6000


def read_document(path: Path, limit: int = 40_000) -> str | None:
    """The first ``limit`` characters of a text file (gzip-compressed when it ends in .gz),
    or None when it cannot be read."""
    import gzip

    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", errors="replace") as fh:
                return fh.read(limit)
        return path.read_text(errors="replace")[:limit]
    except (OSError, EOFError, UnicodeError):
        return None


def test_document_windows(root: Path) -> set[str]:
    """Every window of the test documents' files (the licences in common-licenses, and the
    test packages' changelogs and copyright files): boilerplate shared with other packages'
    files (a licence quoted whole in a copyright file) must not be trained on either."""
    from tamis.detectors.text_classifier import windows

    paths = sorted((root.parent / "common-licenses").glob("*")) if (root.parent / "common-licenses").is_dir() else []
    for pkg in TEST_DOCUMENT_PACKAGES:
        paths += [root / pkg / "changelog.Debian.gz", root / pkg / "copyright"]
    out: set[str] = set()
    for path in paths:
        text = read_document(path) if path.is_file() else None
        if text:
            out.update(text[w.start:w.end].strip() for w in windows(text[:DOCUMENT_CHARS]))
    return out


def machine_documents(root: Path, share: float) -> Iterator[Example]:
    """Ordinary documents from this machine's packages (Debian changelogs, and copyright files,
    which carry licence texts): harmless for every label. Long technical and legal text is what
    the public sets lack, and what a moderation service is sent as attachments.

    Split by package (no package in both splits; the test documents' packages left out). A
    training row is one window of a document as the classifier reads it (a sentence or a
    line group, tamis.detectors.text_classifier.windows), a few per document; a validation row
    is a whole document (its first DOCUMENT_CHARS characters), since what must not be flagged
    is the document. Duplicates (the same licence in many copyright files) are read once, and
    no window of a test document is used. The files are read where they are, never copied into
    tamis."""
    import random

    from tamis.detectors.text_classifier import windows

    rng = random.Random(20261201)
    seen: set[str] = test_document_windows(root)  # never train on a window of a test document
    for pkg in sorted(p.name for p in root.iterdir() if p.is_dir()):
        if pkg in TEST_DOCUMENT_PACKAGES:
            continue
        split = split_of("package:" + pkg, share)
        for name in ("changelog.Debian.gz", "copyright"):
            path = root / pkg / name
            if not path.is_file() or path.is_symlink():
                continue
            text = read_document(path)
            if text is None:
                continue
            if split == "validation":
                doc = text[:DOCUMENT_CHARS].strip()
                if len(doc) > 200 and doc not in seen:
                    seen.add(doc)
                    yield Example(doc, frozenset(), ALL, "machine_documents", "en", split)
                continue
            spans = [text[w.start:w.end].strip() for w in windows(text[:DOCUMENT_CHARS])]
            spans = [t for t in spans if len(t) >= 20 and t not in seen]
            for t in rng.sample(spans, min(WINDOWS_PER_DOCUMENT, len(spans))):
                seen.add(t)
                yield Example(t, frozenset(), ALL, "machine_documents", "en", split)


def public_sources(shared: Path) -> list[tuple]:
    """(reader, path) for every public set this module reads."""
    return [
        (toxic_spans, shared / "toxic_spans"),
        (implicit_hate, shared / "implicit_hate"),
        (mlma, shared / "mlma" / "hate_speech_mlma.zip"),
        (cold, shared / "cold"),
        (germeval, shared / "germeval2018"),
        (japanese_toxic, shared / "japanese_toxic" / "subset.csv"),
        (ailuminate, shared / "ailuminate"),
        (harmbench, shared / "harmbench" / "harmbench_behaviors_text_all.csv"),
        (simplesafetytests, shared / "simplesafetytests" / "SimpleSafetyTests - test cases.csv"),
        (machine_documents, Path("/usr/share/doc")),
    ]


def load_all(shared: Path, own: Path, share: float = 0.2) -> list[Example]:
    """Every example, with parents added to sub-labels (a sub-label implies its parent)."""
    out: list[Example] = []
    sources = [
        (davidson, shared / "davidson_labeled_data.csv"),
        (surge, shared / "surge_toxicity_en.csv"),
        (toxigen, shared / "toxigen"),
        (sms_spam, shared / "sms_spam.tsv"),
    ]
    for fn, path in sources + public_sources(shared):
        if path.exists():
            out.extend(fn(path, share))
    if own.is_dir():
        out.extend(own_sets(own))
    fixed = []
    for ex in out:
        labels = set(ex.labels) | {lab.split("/")[0] for lab in ex.labels if "/" in lab}
        fixed.append(Example(ex.text, frozenset(labels), ex.covers, ex.source, ex.lang, ex.split))
    return fixed


__all__ = ["ALL", "load_all", "public_sources"]
