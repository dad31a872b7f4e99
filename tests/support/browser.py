"""Headless Chromium driven by selenium, from Debian's `chromium` and `chromium-driver` packages.

`/usr/bin/chromedriver` is named explicitly so Selenium Manager never downloads a driver or a browser, and the
flags keep Chromium from talking to anything but the page's own node.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not Path(CHROMEDRIVER).exists():
        return f"{CHROMEDRIVER} is missing (apt-get install chromium-driver)"
    if _chromium() is None:
        return "chromium is missing (apt-get install chromium)"
    return None


def _chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def start(profile_dir: Path) -> Any:
    """A fresh headless Chromium (its own --user-data-dir) with console and network logs switched on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _chromium() or CHROMIUM_CANDIDATES[0]
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


# Chromium's own pages (its new-tab page before the first navigation) load from these: never the network.
_INTERNAL = ("chrome", "chrome-untrusted", "chrome-extension", "devtools", "about", "data", "blob")


def requested_hosts(performance_log: list[dict[str, Any]]) -> set[str]:
    """host:port of every request that went out to the network, from the performance (DevTools) log;
    any other scheme that is not the browser's own is reported whole."""
    hosts = set()
    for entry in performance_log:
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss"):
                hosts.add(parts.netloc)
            elif parts.scheme not in _INTERNAL:
                hosts.add(url)
    return hosts
