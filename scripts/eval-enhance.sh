#!/usr/bin/env bash
# Restoration and cut-out quality evaluation.
#
# Exports scikit-image's sample photographs to PNG, then runs the `eval_enhance` example, which
# adds the procedural product fixtures, degrades every original (2× bicubic downscale, Gaussian
# noise σ 6, a colour cast in linear light, JPEG q60), restores it with Sightline's `restore-2x`,
# plain Lanczos3 2× and ImageMagick (`convert in -resize 200% -unsharp 0x1 -normalize out`), and
# prints SSIM / PSNR / CIEDE2000 per image, the means and the targets; then cuts the product
# fixtures out of their photos and reports mask IoU and halo pixels.
#
# Needs: python3 with scikit-image (pip install scikit-image), ImageMagick
#   (apt-get install -y imagemagick; /usr/bin/convert — /usr/local/bin/convert on the dev
#   machines is a stand-in).
# Usage: scripts/eval-enhance.sh [work-dir]
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d /tmp/sightline-eval.XXXXXX)}"
magick="${MAGICK:-/usr/bin/convert}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
mkdir -p "$work/originals"

if [ ! -x "$magick" ]; then
    echo "ImageMagick not found at $magick (apt-get install -y imagemagick)" >&2
    exit 1
fi

echo "== exporting scikit-image sample photographs to $work/originals"
python3 - "$work/originals" <<'EOF'
import sys
import skimage.data as d
from PIL import Image
names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina"]
for n in names:
    Image.fromarray(getattr(d, n)()).convert("RGB").save(f"{sys.argv[1]}/{n}.png")
print(f"exported {len(names)} photographs")
EOF

cd "$here"
cargo run --release --example eval_enhance -- "$work" --magick "$magick"
echo "outputs for inspection: $work/out"
