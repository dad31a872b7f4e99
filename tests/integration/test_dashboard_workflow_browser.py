"""The dashboard shows the farm's workflow (printer status, current job and progress, queue, bed, maintenance,
low stock, priorities, statistics) and acts on it, on nodes that serve it; skipped on nodes that do not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_dashboard_browser import CSS, Page
from tests.support import browser
from tests.support.cluster import Cluster, wait_for
from tests.support.fixtures import module_cluster

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser: {browser.missing()}"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from module_cluster(tmp_path_factory, "workflow-dashboard")


def test_the_workflow_on_the_page(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("browser")
    node = cluster.followers()[0]
    api = next(other for other in cluster.nodes if other is not node)
    driver = browser.start(root / "profile")
    try:
        page = Page(driver, node, root)
        page.open()
        assert api.post("/api/v1/printers", {"id": "p1", "company": "Prusa", "model": "MK4"}).status == 201
        spool = {"id": "f1", "type": "PLA", "color": "Black", "total_weight_in_grams": 1000,
                 "remaining_weight_in_grams": 1000, "low_stock_threshold_in_grams": 900}  # fmt: skip
        assert api.post("/api/v1/filaments", spool).status == 201
        for job_id, weight, priority in (("a", 50, 10), ("b", 60, 0)):
            job = {"job_id": job_id, "printer_id": "p1", "filament_id": "f1", "print_weight_in_grams": weight,
                   "priority": priority}  # fmt: skip
            assert api.post("/api/v1/print_jobs", job).status == 201
        printer = "[data-printer=p1]"
        wait_for(lambda: "queue\n2" in page.text(printer), 10, what="the queue length")
        assert "idle" in page.text(printer) and page.present("[data-job=a]")
        assert "priority" in page.text("#jobs thead")

        assert api.put("/api/v1/print_jobs/a/status?status=Running").status == 200
        assert api.put("/api/v1/print_jobs/a/progress", {"percent": 40, "used_grams": 5}).status == 200
        wait_for(lambda: "printing" in page.text(printer), 10, what="the printer printing")
        wait_for(
            lambda: "40%" in page.text(printer) and "40%" in page.text("[data-job=a]"), 10, what="progress"
        )

        assert api.put("/api/v1/print_jobs/a/status?status=Done").status == 200
        wait_for(
            lambda: page.present(f"{printer} [data-action='clear bed']"), 10, what="the clear-bed button"
        )
        wait_for(lambda: page.present("[data-spool=f1].low"), 10, what="the spool highlighted as low")
        wait_for(lambda: "Done 1" in page.text("#stats"), 10, what="the statistics")
        page.screenshot("workflow")

        page.click(f"{printer} [data-action='clear bed']")
        wait_for(
            lambda: api.get("/api/v1/printers/p1").json()["bed_clear"] is True, 10, what="the bed cleared"
        )
        wait_for(lambda: not page.present(f"{printer} [data-action='clear bed']"), 10, what="the button gone")
        page.click(f"{printer} [data-action=maintenance]")
        wait_for(lambda: api.get("/api/v1/printers/p1").json()["maintenance"] is True, 10, what="maintenance")
        wait_for(lambda: "maintenance" in page.text(f"{printer} .badge"), 10, what="the maintenance badge")
        page.click("[data-job=b] [data-action=start]")
        refusal = api.put("/api/v1/print_jobs/b/status?status=Running").json()
        wait_for(lambda: page.text("[data-job=b] .error") == refusal["detail"], 10, what="the refusal")
        assert api.put("/api/v1/print_jobs/b/status?status=Cancelled").status == 200
        page.fill("[data-job=b] .retry .new-id", "b-again")
        page.click("[data-job=b] [data-action=retry]")
        wait_for(lambda: api.get("/api/v1/print_jobs/b-again").status == 200, 10, what="the retry")
        assert api.get("/api/v1/print_jobs/b-again").json()["retry_of"] == "b"
        wait_for(lambda: page.present("[data-job=b-again]"), 10, what="the retried job on the page")
        assert page.not_reloaded()
        ours = [
            e for e in driver.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"
        ]
        assert ours == [], ours
        assert driver.find_element(CSS, "#stats-section").is_displayed()
    finally:
        driver.quit()
