"""The browser console in tests: record every console.warn and console.error of each page the browser opens
(dash_duo's own log keeps SEVERE entries only, and AG Grid's deprecations are warnings)."""
from __future__ import annotations

RECORDER = """
window.__consoleLines = [];
for (const level of ["warn", "error"]) {
  const original = console[level].bind(console);
  console[level] = function () {
    window.__consoleLines.push(level + ": " + Array.from(arguments).map(String).join(" "));
    return original.apply(null, arguments);
  };
}
"""


def record_console(browser) -> None:
    """From the next page load on, keep the page's warnings and errors in ``window.__consoleLines``."""
    browser.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})


def console_lines(browser) -> list[str]:
    return browser.driver.execute_script("return window.__consoleLines || []")
