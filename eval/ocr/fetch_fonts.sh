#!/usr/bin/env bash
# Fetch the extra fonts the OCR evaluation renders text with (pinned Debian packages).
#
# usage: eval/ocr/fetch_fonts.sh OUTDIR
#
# Downloads (apt-get download, no install) and unpacks into OUTDIR:
#   fonts-liberation2 2.1.5-1        Liberation Sans / Serif / Mono  (OFL)
#   fonts-freefont-ttf 20120503-10   FreeSans / FreeSerif / FreeMono  (GPL-3+ with font exception)
#   fonts-wqy-microhei 0.2.0-beta-3.1  WenQuanYi Micro Hei, Chinese + Japanese kana  (Apache-2.0 / GPL-3)
# The system has only DejaVu fonts (and no CJK font: `fc-list :lang=zh` is empty), so
# without these the evaluation falls back to DejaVu alone and skips CJK lines.
# Idempotent. Needs apt-get and dpkg-deb (Debian/Ubuntu).
set -euo pipefail
OUT=${1:?usage: $0 OUTDIR}
mkdir -p "$OUT/.deb"
OUT=$(cd "$OUT" && pwd)
for spec in fonts-liberation2=2.1.5-1 fonts-freefont-ttf=20120503-10 fonts-wqy-microhei=0.2.0-beta-3.1; do
  pkg=${spec%%=*}
  if [ ! -f "$OUT/.deb/$pkg.done" ]; then
    (cd "$OUT/.deb" && { apt-get download "$spec" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get download "$spec" >/dev/null 2>&1; }; })
    deb=$(ls "$OUT/.deb/${pkg}_"*.deb | head -1)
    dpkg-deb -x "$deb" "$OUT/root"
    touch "$OUT/.deb/$pkg.done"
  fi
done
find "$OUT/root" \( -name '*.ttf' -o -name '*.ttc' \) | sort
