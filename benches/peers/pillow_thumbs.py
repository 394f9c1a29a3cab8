"""The Pillow peer of the archive benchmark: thumbnails of every file in a
folder, two processes, Image.draft (JPEG shrink-on-load) + thumbnail.

    python3 pillow_thumbs.py SRC_DIR OUT_DIR

Does the same work as rotproof's thumbnailer: EXIF orientation applied,
palette images converted to RGBA, 320 px on the long side, PNG when
transparent and JPEG (quality 82) otherwise. Prints the number written.
"""

import os
import sys
from multiprocessing import Pool

from PIL import Image, ImageOps

SIZE = (320, 320)


def one(job):
    src, out_dir = job
    with Image.open(src) as im:
        im.draft("RGB", SIZE)  # JPEG only: decode at 1/2, 1/4 or 1/8
        im = ImageOps.exif_transpose(im)
        if im.mode == "P":
            im = im.convert("RGBA")
        im.thumbnail(SIZE)
        name = os.path.join(out_dir, os.path.basename(src))
        if im.mode in ("RGBA", "LA"):
            im.save(name + ".png")
        else:
            im.convert("RGB").save(name + ".jpg", quality=82)
    return 1


if __name__ == "__main__":
    src_dir, out_dir = sys.argv[1], sys.argv[2]
    files = sorted(os.path.join(src_dir, f) for f in os.listdir(src_dir))
    with Pool(2) as pool:
        print(sum(pool.map(one, [(f, out_dir) for f in files], chunksize=8)))
