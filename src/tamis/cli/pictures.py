"""The pictures a scan writes: annotated and face-redacted copies, video thumbnails, the HTML report."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from tamis.cli.common import err
from tamis.cli.output import View
from tamis.errors import TamisError


class Pictures:
    """Annotated copies, redacted copies and report cards, for results that carry content."""

    def __init__(self, annotate_dir, blur_dir, mode, report, thumbs_dir=None, view: View = View()) -> None:
        self.annotate_dir, self.blur_dir, self.mode, self.report = annotate_dir, blur_dir, mode, report
        self.thumbs_dir = thumbs_dir
        self.view = view
        self.used: set[str] = set()
        self.cards: list[tuple[tuple, str]] = []  # (place in the report, card)

    def add(self, result, path: str | None = None) -> None:
        """``path``: the file as given (``result.source`` is its printable name)."""
        from tamis.render import card
        from tamis.render.report import sort_key

        if result.kind == "video" and result.error is None:
            self._video(result, path if path not in (None, "-") else None)

        if result.content is not None and getattr(result.content, "frames", None) and \
                (self.annotate_dir or self.blur_dir):
            _write_pictures(result, self.annotate_dir, self.blur_dir, self.mode, self.used)
        if self.report:
            self.cards.append((sort_key(result), card(result, self.view.policy, self.view.everything)))
        result.content = None

    def _video(self, result, path: str | None) -> None:
        """Thumbnails of the best frame of each segment, and a face-redacted copy."""
        stem = None
        if self.thumbs_dir and result.video.segments:
            stem = _picture_stem(result.source, self.used)
            self.thumbs_dir.mkdir(parents=True, exist_ok=True)
            for seg in result.video.segments:  # one picture per frame, however many segments peak there
                jpg = result.thumbnails.get(seg.frame)
                if jpg:
                    (self.thumbs_dir / f"{stem}.{seg.timestamp:.3f}s.jpg").write_bytes(jpg)
        if self.blur_dir:
            import tamis

            if path is None or not Path(path).is_file():
                err.print(escape(f"{result.source}: a video from stdin is not redacted (give a file)"))
                return
            stem = stem or _picture_stem(result.source, self.used)
            self.blur_dir.mkdir(parents=True, exist_ok=True)
            try:
                tamis.blur_video(path, self.blur_dir / f"{stem}.mp4", mode=self.mode)
            except TamisError as exc:
                err.print(escape(f"{result.source}: not redacted: [{exc.code}] {exc.message}"), highlight=False)

    def finish(self, counts) -> None:
        from tamis.render import render_report

        if self.report:
            self.report.parent.mkdir(parents=True, exist_ok=True)
            cards = [c for _, c in sorted(self.cards, key=lambda kc: kc[0])]  # most severe first, then by path
            self.report.write_text(render_report(cards, counts), encoding="utf-8", errors="backslashreplace")


#: Extensions that name the format a picture is saved in (see render.save_image).
_SAVED_AS = {"image/jpeg": (".jpg", ".jpeg", ".jpe")}


def _picture_stem(source: str, used: set[str], like: str | None = None) -> str:
    """A file name (less the extension) for pictures of ``source``, unique within this run.
    For pictures saved in the format of ``like`` (a media type), the source's extension is
    kept unless the saved file has it anyway, so that rocket.bmp and rocket.tiff stay apart:
    rocket.bmp.png and rocket.tiff.png, but cat.jpg (a JPEG) and cat.png (a PNG)."""
    if source in ("<stdin>", "<bytes>"):
        stem = "stdin"
    else:
        path = Path(source)
        stem = path.stem
        if like is not None and path.suffix.lower() not in _SAVED_AS.get(like, (".png",)):
            stem = path.name
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return name


def _write_pictures(result, annotate_dir, blur_dir, mode, used: set[str]) -> None:
    from tamis.render import redact_faces, save_image
    from tamis.render.images import annotate_frame

    content = result.content
    stem = _picture_stem(result.source, used, content.media_type)
    for frame in content.frames:
        suffix = f".frame{frame.index}" if len(content.frames) > 1 else ""
        if annotate_dir:
            img = annotate_frame(frame, result, len(content.frames) > 1)
            save_image(img, annotate_dir / f"{stem}{suffix}", content.media_type)
        if blur_dir:
            boxes = [f.box for f in result.faces if f.frame in (None, frame.index)]
            save_image(redact_faces(frame.rgb, boxes, mode), blur_dir / f"{stem}{suffix}",
                       content.media_type)
