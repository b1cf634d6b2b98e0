"""Rebuild the bundled sample images (run from the repository root).

    pip download --no-deps scikit-image==0.26.0 -d /tmp/sk && python samples/make_samples.py /tmp/sk/*.whl

Photographs come from scikit-image's bundled data (public domain or CC0, see
samples/README.md); everything else is drawn here. Output: samples/images/.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).parent / "images"
PHOTOS = {"astronaut.png": "astronaut_portrait.jpg", "chelsea.png": "cat.jpg",
          "coffee.png": "coffee.jpg", "rocket.jpg": "rocket_launch.jpg"}


def font(size: int) -> ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def photos(wheel: Path) -> dict[str, Image.Image]:
    out = {}
    with zipfile.ZipFile(wheel) as zf:
        for src, dst in PHOTOS.items():
            img = Image.open(io.BytesIO(zf.read(f"skimage/data/{src}"))).convert("RGB")
            img.save(OUT / dst, quality=88)
            out[dst] = img
    return out


def scam_banner() -> None:
    img = Image.new("RGB", (900, 500), (250, 235, 60))
    d = ImageDraw.Draw(img)
    d.text((40, 40), "CONGRATULATIONS!", fill=(200, 0, 0), font=font(64))
    d.text((40, 150), "You won a FREE iPhone.", fill=(0, 0, 0), font=font(44))
    d.text((40, 230), "Claim now: call +1 202-555-0143", fill=(0, 0, 0), font=font(36))
    d.text((40, 300), "or mail prizes@example.com", fill=(0, 0, 0), font=font(36))
    d.text((40, 400), "Offer ends tonight!", fill=(120, 0, 0), font=font(40))
    img.save(OUT / "scam_banner.png")


def qr_payment() -> None:
    code = zxingcpp.create_barcode("https://pay.example.com/invoice/8841?amount=49.99",
                                   zxingcpp.BarcodeFormat.QRCode)
    qr = Image.fromarray(np.asarray(code.to_image(scale=8, add_quiet_zones=True)))
    img = Image.new("RGB", (qr.width + 80, qr.height + 140), (255, 255, 255))
    img.paste(qr.convert("RGB"), (40, 40))
    ImageDraw.Draw(img).text((40, qr.height + 60), "Scan to pay", fill=(0, 0, 0), font=font(40))
    img.save(OUT / "qr_payment.png")


def barcode() -> None:
    code = zxingcpp.create_barcode("4006381333931", zxingcpp.BarcodeFormat.EAN13)
    bar = Image.fromarray(np.asarray(code.to_image(scale=4, add_quiet_zones=True))).convert("RGB")
    bar.save(OUT / "product_barcode.webp", lossless=True)


def caption(photo: Image.Image) -> None:
    img = photo.copy()
    d = ImageDraw.Draw(img)
    d.rectangle((0, img.height - 70, img.width, img.height), fill=(0, 0, 0))
    d.text((20, img.height - 60), "Morning coffee, 7 am", fill=(255, 255, 255), font=font(40))
    img.save(OUT / "coffee_caption.jpg", quality=88)


def animation() -> None:
    frames = []
    for i in range(12):
        img = Image.new("RGB", (320, 240), (30, 30 + i * 15, 120))
        d = ImageDraw.Draw(img)
        d.ellipse((20 + i * 20, 80, 80 + i * 20, 140), fill=(250, 200, 40))
        if i >= 8:
            d.text((20, 180), "SALE 50% OFF", fill=(255, 255, 255), font=font(32))
        frames.append(img)
    frames[0].save(OUT / "animated_sale.gif", save_all=True, append_images=frames[1:],
                   duration=120, loop=0)


def tiff_and_bmp(photo: Image.Image) -> None:
    photo.resize((256, 192)).save(OUT / "rocket_small.tiff", compression="tiff_lzw")
    photo.resize((200, 150)).save(OUT / "rocket_small.bmp")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    got = photos(Path(sys.argv[1]))
    scam_banner()
    qr_payment()
    barcode()
    caption(got["coffee.jpg"])
    animation()
    tiff_and_bmp(got["rocket_launch.jpg"])
    for p in sorted(OUT.iterdir()):
        print(f"{p.name:28s} {p.stat().st_size:>9,d} bytes")


if __name__ == "__main__":
    main()
