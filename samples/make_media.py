"""Build the sample video and documents from the sample images.

    .venv/bin/python samples/make_media.py

Needs the `video` extra (PyAV) and the test extra (reportlab, python-docx). Everything is
made here from the images in samples/images and text written here, so the files are
Apache-2.0 like the rest of the project (the photos keep their own licences:
samples/README.md). The e-mail addresses (example.com/.org) and the 555 phone number are
reserved for fiction.
"""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"


def _picture(name: str, size=(480, 360)) -> np.ndarray:
    return np.asarray(Image.open(IMAGES / name).convert("RGB").resize(size))


def video() -> Path:
    """10 s at 25 fps: a cat, a cut to coffee with a caption, a prize-scam banner, then a
    portrait; subtitles and metadata with personal data and a threat."""
    from tamis.render.video import encode

    plan = [("cat.jpg", 75), ("coffee_caption.jpg", 50), ("scam_banner.png", 50), ("astronaut_portrait.jpg", 75)]

    def frames():
        for name, count in plan:
            img = _picture(name)
            for i in range(count):  # a slow drift, so frames differ as in filmed video
                yield np.roll(img, i // 5, axis=1)

    out = HERE / "video" / "holiday_clip.mkv"
    out.parent.mkdir(exist_ok=True)
    encode(frames(), out, 25, crf=28,
           subtitles=[(1.0, 3.0, "Send the photos to lee.chan@example.com"),
                      (7.5, 9.5, "If you post this I will find you and hurt you")],
           metadata={"title": "Holiday clip", "comment": "Call +1 202 555 0143 to buy the full set"})
    return out


def pdf() -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = HERE / "documents" / "meeting_notes.pdf"
    out.parent.mkdir(exist_ok=True)
    c = canvas.Canvas(str(out), pagesize=A4)
    lines = ["Meeting notes, 12 March", "", "Attendees: the product team.",
             "Action: send the draft to jane.roe@example.org by Friday.", "The launch photo is below."]
    for i, line in enumerate(lines):
        c.drawString(60, 790 - 18 * i, line)
    c.drawImage(str(IMAGES / "rocket_launch.jpg"), 60, 380, width=300, height=300)
    c.showPage()
    c.drawString(60, 790, "Page 2: visitors")
    c.drawImage(str(IMAGES / "astronaut_portrait.jpg"), 60, 450, width=240, height=320)
    c.showPage()
    c.save()
    return out


def docx() -> Path:
    from docx import Document

    out = HERE / "documents" / "prize_letter.docx"
    d = Document()
    d.add_paragraph("Congratulations! You have won a $5,000 gift card.")
    d.add_paragraph("To claim your prize, send your bank login and a $50 processing fee today.")
    d.add_paragraph("Reply to claims@example.com or call (202) 555-0143. Offer expires in 24 hours!")
    d.save(out)
    return out


def archive() -> Path:
    """A zip with a text, a picture and an e-mail that has an attachment."""
    msg = EmailMessage()
    msg["From"] = "Pat <pat@example.com>"
    msg["To"] = "team@example.net"
    msg["Subject"] = "Flyer for the bake sale"
    msg.set_content("Hi all, the flyer is attached. Bring cakes on Saturday!")
    msg.add_attachment((IMAGES / "animated_sale.gif").read_bytes(), maintype="image", subtype="gif",
                       filename="flyer.gif")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notes/readme.txt", "Shared folder for the bake sale. Questions: pat@example.com")
        zf.write(IMAGES / "qr_payment.png", "pictures/qr_payment.png")
        zf.writestr("mail/flyer.eml", bytes(msg))
    out = HERE / "documents" / "shared_folder.zip"
    out.write_bytes(buf.getvalue())
    return out


def main() -> None:
    for path in (video(), pdf(), docx(), archive()):
        print(f"{path.relative_to(HERE)!s:36s} {path.stat().st_size:>9,d} bytes")


if __name__ == "__main__":
    main()
