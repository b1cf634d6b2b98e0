"""Errors that users can act on. Each has a stable machine-readable ``code``."""

from __future__ import annotations


class TamisError(Exception):
    """Base of every error tamis raises on purpose."""

    code = "error"
    #: What a library said, for the log and bug reports (the message says it for people).
    detail: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        out = {"code": self.code, "message": self.message}
        if self.detail:
            out["detail"] = self.detail
        return out


class ProhibitedAttributeError(TamisError):
    """A request asked tamis to infer a personal characteristic (the red line)."""

    code = "prohibited_attribute"

    def __init__(self, requested: str, group: str) -> None:
        self.requested = requested
        self.group = group
        super().__init__(
            f"'{requested}' asks for {group.replace('_', ' ')}, a personal characteristic. "
            "tamis never infers race, ethnicity, nationality, religion, gender, age, "
            "orientation, health, political opinion or identity of a person: such "
            "inference is used to single out people, not to find risky content."
        )


class UnknownLabelError(TamisError):
    code = "unknown_label"

    def __init__(self, label: str, kind: str = "label", known: list[str] | None = None) -> None:
        self.label = label
        hint = f" Known: {', '.join(known)}." if known else " See `tamis labels`."
        super().__init__(f"unknown {kind} '{label}'.{hint}")


class InputError(TamisError):
    """Base for problems with one input; in a batch, the other inputs go on."""

    code = "bad_input"


class EmptyInputError(InputError):
    code = "empty_input"


class UnsupportedFormatError(InputError):
    code = "unsupported_format"


class CorruptInputError(InputError):
    code = "corrupt_input"


class TooLargeError(InputError):
    code = "too_large"


class DecompressionBombError(TooLargeError):
    code = "decompression_bomb"


class ArchiveBombError(TooLargeError):
    """An archive (or a document, which is one) over a limit: members, unpacked bytes,
    compression ratio."""

    code = "archive_bomb"


class InputTimeoutError(TooLargeError):
    """One input took longer than its time budget (``max_input_seconds``)."""

    code = "timeout"


class TooDeepError(InputError):
    """Containers nested deeper than the limit."""

    code = "too_deep"


class EncryptedError(InputError):
    """An encrypted file (or archive member) and no password, or the wrong one."""

    code = "encrypted"


class TooSmallError(InputError):
    code = "too_small"


class InputNotFoundError(InputError):
    code = "not_found"


class PolicyError(TamisError):
    """A policy file is wrong; the message names the file and line."""

    code = "policy_error"

    def __init__(self, message: str, source: str | None = None, line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = ""
        if source:
            where = f"{source}:{line}: " if line else f"{source}: "
        super().__init__(where + message)


class ConfigError(TamisError):
    code = "config_error"


class ModelError(TamisError):
    code = "model_error"


class ModelIntegrityError(ModelError):
    """A model file's SHA-256 differs from the one recorded: it was changed or replaced."""

    code = "model_integrity"


class ModelUnavailableError(ModelError):
    code = "model_unavailable"


class DetectorError(TamisError):
    """A detector failed on one input (the other inputs of a batch go on)."""

    code = "detector_error"


class DetectorContractError(TamisError):
    """A detector broke the detector contract (label outside its list, score out of range...)."""

    code = "detector_contract"


def input_error(exc: BaseException, name: str, what: str = "input") -> TamisError:
    """Any exception raised while reading one input, as the tamis error a person can act
    on; the library's own words go to ``detail``. A tamis error is returned unchanged.

    Parsers of hostile files fail in many ways (Pillow's ``TypeError``, zipfile's
    ``NotImplementedError``, ``IndexError`` in a frame count...): each means the same to a
    user, "this file is malformed", and one bad file must never stop a batch.
    """
    if isinstance(exc, TamisError):
        return exc
    if isinstance(exc, MemoryError):
        err: TamisError = TooLargeError(f"{name}: reading it needs more memory than tamis allows one input")
    elif isinstance(exc, RecursionError):
        err = TooDeepError(f"{name}: its structure is nested too deeply to read")
    elif isinstance(exc, NotImplementedError):
        err = UnsupportedFormatError(f"{name}: uses a feature of the {what} format that tamis cannot read")
    else:
        err = CorruptInputError(f"{name}: malformed {what}; it could not be read")
    err.detail = f"{type(exc).__name__}: {exc}"[:500]
    return err


def error_class(code: str) -> type[TamisError]:
    """The error class with this code (:class:`DetectorError` when none has it)."""
    todo: list[type[TamisError]] = [TamisError]
    while todo:
        cls = todo.pop()
        if cls.code == code:
            return cls
        todo.extend(cls.__subclasses__())
    return DetectorError
