"""`make screenshot`: start a local 3-node cluster, fill in a little of a farm, and save docs/dashboard.png.

Run from the repository root: .venv/bin/python docs/screenshot.py [OUTPUT]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from client import ApiError, Client  # noqa: E402
from tests.support import browser  # noqa: E402
from tests.support.cluster import Cluster, wait_for  # noqa: E402


def fill(farm: Client) -> None:
    printers = [("prusa-1", "Prusa", "MK4"), ("prusa-2", "Prusa", "MK4"), ("bambu-1", "Bambu Lab", "X1C")]
    for printer, company, model in [*printers, ("voron-1", "Voron", "2.4")]:
        farm.create_printer(printer, company, model)
    # Nodes without the farm's workflow ignore the low-stock threshold (unknown fields are ignored).
    farm.create_filament("pla-black", "PLA", "Black", 1000, 820, low_stock_threshold_in_grams=150)
    farm.create_filament("petg-red", "PETG", "Red", 1000, 140, low_stock_threshold_in_grams=150)
    farm.create_filament("pla-white", "PLA", "White", 750, low_stock_threshold_in_grams=150)
    jobs = [
        ("benchy", "prusa-1", "pla-black", 15, "3DBenchy", ["Running"]),
        ("bracket", "prusa-2", "petg-red", 60, "shelf bracket x4", ["Running", "Paused"]),
        ("vase", "bambu-1", "pla-white", 120, "spiral vase", ["Running", "Done"]),
        ("gears", "voron-1", "pla-black", 45, "planetary gears", []),
        ("clip", "bambu-1", "pla-black", 8, "cable clips", []),
        ("lid", "voron-1", "petg-red", 30, "box lid", ["Running", "Failed"]),
    ]
    for job_id, printer, filament, weight, details, steps in jobs:
        farm.create_job(job_id, printer, filament, weight, details)
        for status in steps:
            reason = "adhesion" if status == "Failed" else None
            farm.set_job_status(job_id, status, used_grams=12 if status == "Failed" else None, reason=reason)
    try:  # the farm's workflow, where the nodes serve it
        farm.report_progress("benchy", percent=64, used_grams=9)
        farm.report_progress("bracket", percent=23, used_grams=14)
        farm.clear_bed("bambu-1")
        farm.update_printer("voron-1", maintenance=True)
    except ApiError as error:
        if error.status not in (404, 405):
            raise


def main() -> int:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "dashboard.png"
    reason = browser.missing()
    if reason:
        print(f"cannot take the screenshot: {reason}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="printfarm-screenshot-") as tmp:
        cluster = Cluster(Path(tmp) / "cluster", 3)
        driver = None
        try:
            cluster.bootstrap()
            follower = cluster.followers()[0]
            with Client([node.url for node in cluster.nodes]) as farm:
                fill(farm)
            driver = browser.start(Path(tmp) / "profile")
            driver.get(follower.url + "/")
            wait_for(lambda: driver.find_elements("css selector", "[data-job=lid]"), 20, what="the jobs")
            wait_for(lambda: driver.find_element("id", "live").text == "live", 20, what="the live stream")
            time.sleep(0.5)  # let the last cluster status poll land
            for _ in range(2):  # the window's chrome takes some of its height: fit the page, then again
                height = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(1400, max(900, height + 140))
            output.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(output))
            print(f"wrote {output}")
        finally:
            if driver is not None:
                driver.quit()
            cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
