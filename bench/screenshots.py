"""Screenshots of what a user sees: every run-page tab of the three built-in examples, History and Compare, at
1440×900 (the first screen, and the whole page as ``*-full.png``) and at phone width (390×844).

The app runs in this process (embedded SQLite, runs on the in-process thread executor) on a free loopback port;
the examples are submitted as "Try an example" does (twice for the breast-cancer forest, so that Compare has a
same-model baseline); headless Chromium (selenium, as the dash_duo tests) opens each page once the runs finished.

Run: ``.venv/bin/python bench/screenshots.py [OUT_DIR]`` (default ``/tmp/modelwatch-screens``; a few minutes on
2 shared cores). The PNGs are for looking at, never committed.
"""
from __future__ import annotations

import argparse
import base64
import re
import sys
import tempfile
import time
from pathlib import Path
from threading import Thread

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelwatch.app import create_app  # noqa: E402
from modelwatch.extensions import db  # noqa: E402
from modelwatch.models import Run  # noqa: E402
from modelwatch.services.demo import run_examples  # noqa: E402
from modelwatch.settings import TestSettings  # noqa: E402
from tests.support import free_port  # noqa: E402

DESKTOP, PHONE = (1440, 900), (390, 844)
RUN_CEILING_S = 900
PAGE_CEILING_S = 90
SETTLED = """
return !document.querySelector('[data-dash-is-loading="true"], ._dash-loading')
  && document.readyState === 'complete';
"""


def serve(folder: Path) -> tuple[object, str]:
    """The whole app on a free loopback port, in a daemon thread."""
    config = type("Screens", (TestSettings,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'screens.db'}",
                                             "DASHBOARD": True, "EXECUTOR": "threads", "EXECUTOR_WORKERS": 2})
    app = create_app(config)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    Thread(target=server.serve_forever, daemon=True).start()
    return app, f"http://127.0.0.1:{server.server_port}"


def run_all_examples(app) -> list[dict[str, str]]:
    """Submit the three examples, then the forest again; wait until every run has finished."""
    with app.app_context():
        ids = [r.id for r in run_examples(source="ui")]
        ids += [r.id for r in run_examples(["cancer_forest"], source="ui")]
        deadline = time.monotonic() + RUN_CEILING_S
        while time.monotonic() < deadline:
            db.session.expire_all()
            found = [db.session.get(Run, i) for i in ids]
            if all(r.status in ("succeeded", "failed") for r in found):
                return [{"id": r.id, "name": r.name, "status": r.status} for r in found]
            time.sleep(1)
    raise SystemExit(f"the example runs did not finish within {RUN_CEILING_S} s")


def browser() -> webdriver.Chrome:
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--hide-scrollbars"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


def viewport(driver: webdriver.Chrome, size: tuple[int, int]) -> None:
    """Make the page's viewport (not the window) exactly ``size``."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                                  "deviceScaleFactor": 1, "mobile": size[0] < 500})


def wait(driver: webdriver.Chrome, script: str, what: str) -> None:
    deadline = time.monotonic() + PAGE_CEILING_S
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            time.sleep(0.5)  # let Plotly finish its transition after the last callback
            if driver.execute_script(script):
                return
        time.sleep(0.2)
    print(f"  (gave up waiting for {what})")


def shoot(driver: webdriver.Chrome, path: Path, full: bool = False) -> None:
    """The viewport, or the whole page (``full``), as a PNG."""
    params: dict = {"format": "png"}
    if full:
        width, height = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": width, "height": min(height, 16000),
                                                        "scale": 1})
    path.write_bytes(base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot", params)["data"]))
    print(f"  {path}")


def open_page(driver: webdriver.Chrome, url: str, ready: str) -> None:
    driver.get(url)
    wait(driver, f"return !!document.querySelector({ready!r}) && (function () {{ {SETTLED} }})()", url)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def run_page(driver: webdriver.Chrome, url: str, run: dict[str, str], out: Path) -> None:
    """Each tab of one run, opened in turn (tabs load when first opened)."""
    open_page(driver, f"{url}/runs/{run['id']}", ".nav-tabs .nav-link")
    labels = driver.execute_script("return Array.from(document.querySelectorAll('.nav-tabs .nav-link'))"
                                   ".map(e => e.innerText.trim())")
    for i, label in enumerate(labels):
        driver.execute_script("document.querySelectorAll('.nav-tabs .nav-link')[arguments[0]].click()", i)
        wait(driver, "const pane = document.querySelector('.tab-pane.active');"
                     f"return !!pane && pane.innerText.trim().length > 0 && (function () {{ {SETTLED} }})()",
             f"{run['name']} · {label}")
        driver.execute_script("window.scrollTo(0, 0)")
        name = f"run-{slug(run['name'])}-{i}-{slug(label)}"
        shoot(driver, out / f"{name}.png")
        shoot(driver, out / f"{name}-full.png", full=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="/tmp/modelwatch-screens", help="where the PNGs go")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="modelwatch-screens-") as tmp:
        app, url = serve(Path(tmp))
        started = time.monotonic()
        runs = run_all_examples(app)
        print(f"{len(runs)} runs finished in {time.monotonic() - started:.0f} s: "
              + ", ".join(f"{r['name']} {r['status']}" for r in runs))
        driver = browser()
        try:
            viewport(driver, DESKTOP)
            for run in runs[:3]:
                run_page(driver, url, run, out)
            open_page(driver, f"{url}/history", "#history-runs-grid .ag-row")
            shoot(driver, out / "history.png")
            driver.execute_script("document.getElementById('history-chart-details').open = true;"
                                  "document.getElementById('history-chart-details').scrollIntoView()")
            wait(driver, "return !!document.querySelector('#history-chart-graph .main-svg')", "the History chart")
            shoot(driver, out / "history-chart.png")
            open_page(driver, f"{url}/history?group=model", "#history-runs-grid .ag-row")
            shoot(driver, out / "history-grouped.png")
            open_page(driver, f"{url}/compare?runs={runs[-1]['id']}", "#compare-table-div table")
            wait(driver, "return document.querySelectorAll('#compare-parallel-graph .main-svg').length > 0",
                 "the parallel coordinates")
            shoot(driver, out / "compare.png")
            shoot(driver, out / "compare-full.png", full=True)
            viewport(driver, PHONE)
            for name, path, ready in (("home", "/", "h1, h2"), ("history", "/history", "#history-runs-grid .ag-row"),
                                      ("run", f"/runs/{runs[0]['id']}", ".nav-tabs"),
                                      ("compare", f"/compare?runs={runs[-1]['id']}", "#compare-table-div table")):
                open_page(driver, url + path, ready)
                shoot(driver, out / f"phone-{name}.png")
        finally:
            driver.quit()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
