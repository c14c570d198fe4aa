#!/usr/bin/env bash
# Throughput of the hot enhancement chain — auto levels on luminance, 2× Lanczos3 upscale,
# unsharp mask (in that order) — over a batch of 1200×1200 JPEG photos, for Sightline (release
# build, the real batch code), libvips (pyvips, cache off, concurrency 2) and ImageMagick, in
# the same run. Reports output megapixels per second writing JPEG q90, and separately PNG,
# plus the ratios. Also times the interactive preview path.
#
# Needs: python3 with scikit-image, pyvips and pyvips-binary
#   (pip install scikit-image pyvips pyvips-binary), ImageMagick (apt-get install -y imagemagick).
# Usage: scripts/bench-enhance.sh [work-dir]
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d /tmp/sightline-bench.XXXXXX)}"
magick="${MAGICK:-/usr/bin/convert}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
mkdir -p "$work/in"

if [ ! -x "$magick" ]; then
    echo "ImageMagick not found at $magick (apt-get install -y imagemagick)" >&2
    exit 1
fi

echo "== generating 24 photos of 1200x1200 in $work/in"
python3 - "$work/in" <<'EOF'
import sys, numpy as np
from PIL import Image
import skimage.data as d
out = sys.argv[1]
names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field"]
rng = np.random.default_rng(1)
k = 0
for n in names:
    base = Image.fromarray(getattr(d, n)()).convert("RGB")
    for variant in range(4):
        im = base.transpose(Image.FLIP_LEFT_RIGHT) if variant % 2 else base
        im = im.rotate(90 * (variant // 2), expand=True).resize((1200, 1200), Image.LANCZOS)
        a = np.asarray(im).astype(float) + rng.normal(0, 2.0, (1200, 1200, 3))
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(f"{out}/photo-{k:02d}.jpg", quality=92)
        k += 1
print(f"wrote {k} photos")
EOF

echo "== building (release)"
(cd "$here" && cargo build --release --example bench_enhance 2>&1 | tail -1)
bin="$CARGO_TARGET_DIR/release/examples/bench_enhance"

run_sightline() { # format
    rm -rf "$work/out-sl-$1"
    "$bin" batch "$work/in" "$work/out-sl-$1" "$1" 2 | awk '{print $NF}'
}

run_vips() { # format
    rm -rf "$work/out-vips-$1"; mkdir -p "$work/out-vips-$1"
    VIPS_CONCURRENCY=2 python3 - "$work/in" "$work/out-vips-$1" "$1" <<'EOF'
import sys, glob, os, time
import pyvips
pyvips.cache_set_max(0); pyvips.cache_set_max_mem(0); pyvips.cache_set_max_files(0)
src, dst, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
files = sorted(glob.glob(os.path.join(src, "*.jpg")))
t = time.perf_counter(); mp = 0.0
for f in files:
    im = pyvips.Image.new_from_file(f)
    # auto levels on luminance: 0.05 % / 99.95 % points of luma, one mapping for all bands
    y = im.colourspace("b-w")
    lo, hi = y.percent(0.05), y.percent(99.95)
    if hi <= lo: hi = lo + 1
    im = im.linear(255.0 / (hi - lo), -lo * 255.0 / (hi - lo)).cast("uchar")
    im = im.resize(2, kernel="lanczos3")
    blur = im.gaussblur(1.0, precision="integer")
    im = (im * 1.5 - blur * 0.5).cast("uchar")
    name = os.path.join(dst, os.path.basename(f)[:-4])
    if fmt == "png":
        im.write_to_file(name + ".png", compression=1)
    else:
        im.write_to_file(name + ".jpg", Q=90)
    mp += im.width * im.height / 1e6
print(f"{mp / (time.perf_counter() - t):.2f}")
EOF
}

run_magick() { # format
    rm -rf "$work/out-im-$1"; mkdir -p "$work/out-im-$1"
    local ext="jpg" opts=(-quality 90)
    if [ "$1" = png ]; then ext="png"; opts=(-quality 10); fi
    local start end n=0
    start=$(date +%s.%N)
    for f in "$work"/in/*.jpg; do
        MAGICK_THREAD_LIMIT=2 "$magick" "$f" -channel RGB -contrast-stretch 0.05%x0.05% +channel \
            -filter Lanczos -resize 200% -unsharp 0x1+0.5+0 "${opts[@]}" \
            "$work/out-im-$1/$(basename "$f" .jpg).$ext"
        n=$((n + 1))
    done
    end=$(date +%s.%N)
    python3 -c "print(f'{$n * 2400 * 2400 / 1e6 / ($end - $start):.2f}')"
}

for fmt in jpeg90 png; do
    # One warm-up pass each so page cache and lazy initialisation are not timed.
    run_sightline "$fmt" >/dev/null; run_vips "$fmt" >/dev/null
    sl=$(run_sightline "$fmt")
    vips=$(run_vips "$fmt")
    im=$(run_magick "$fmt")
    echo "== $fmt: output megapixels per second (24 x 2400x2400)"
    printf '  sightline   %8s MP/s\n  libvips     %8s MP/s\n  imagemagick %8s MP/s\n' "$sl" "$vips" "$im"
    python3 -c "print(f'  sightline / libvips {$sl / $vips:.2f}x   sightline / imagemagick {$sl / $im:.2f}x')"
done

echo "== preview latency (2 MP source, 1024 px preview)"
python3 - "$work/preview.jpg" <<'EOF'
import sys
from PIL import Image
import skimage.data as d
Image.fromarray(d.astronaut()).resize((1732, 1155), Image.LANCZOS).save(sys.argv[1], quality=92)
EOF
"$bin" preview "$work/preview.jpg"
