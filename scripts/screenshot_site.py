"""Screenshot a page of the profile site in headless Chromium (Debian's package, driven by Playwright).

    uv run python scripts/screenshot_site.py site/regions/dutch_techzone.html docs/img/dutch_techzone.png \
        --max-height 4300

Waits until every chart and the map are drawn. --max-height cuts a long page (the README's picture
stays small); without it the whole page is taken.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", type=Path, help="an HTML file of a written site")
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--max-height", type=int, help="cut the page at this many pixels")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.goto(args.page.resolve().as_uri())
        if page.query_selector(".chart"):
            page.wait_for_selector("body[data-charts=done]", state="attached", timeout=30_000)
        height = page.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": 0, "width": args.width, "height": min(height, args.max_height or height)}
        args.png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.png), full_page=True, clip=clip)
        browser.close()
    print(f"{args.png}: {clip['width']}x{clip['height']} px, {args.png.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
