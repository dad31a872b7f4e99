"""The dashboard in a real headless Chromium against a real 3-node cluster, opened on a follower.

Objects created through the API at another node appear without a reload; actions clicked on the page reach the
API (and a refusal shows the problem's detail beside the action); the leader killed -> the page shows the new
one; every request the page makes goes to its own node; no console error from our code. A screenshot of each
test is saved under the test's temporary directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import browser
from tests.support.cluster import Cluster, Node, wait_for
from tests.support.fixtures import module_cluster

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser: {browser.missing()}"),
]
CSS = "css selector"


class Page:
    """The browser on one node's dashboard, with the logs it collected so far."""

    def __init__(self, driver: Any, node: Node, shots: Path) -> None:
        self.driver = driver
        self.node = node
        self.shots = shots
        self.console: list[dict[str, Any]] = []
        self.network: list[dict[str, Any]] = []

    def open(self) -> None:
        self.driver.get(self.node.url + "/")
        wait_for(lambda: self.text("#live") == "live", 20, what="the live event stream")
        self.driver.execute_script("window.__notReloaded = true;")

    def text(self, selector: str) -> str:
        found = self.driver.find_elements(CSS, selector)
        return found[0].text if found else ""

    def present(self, selector: str) -> bool:
        return bool(self.driver.find_elements(CSS, selector))

    def click(self, selector: str) -> None:
        # The page re-renders on every event: find the element afresh until a click lands.
        wait_for(
            lambda: self.driver.find_element(CSS, selector).click() or True, 10, what=f"click {selector}"
        )

    def fill(self, selector: str, value: str) -> None:
        def typed() -> bool:
            element = self.driver.find_element(CSS, selector)
            element.clear()
            element.send_keys(value)
            return True

        wait_for(typed, 10, what=f"type into {selector}")

    def not_reloaded(self) -> bool:
        return self.driver.execute_script("return window.__notReloaded === true;")

    def collect_logs(self) -> None:
        self.console += self.driver.get_log("browser")
        self.network += self.driver.get_log("performance")

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path}")
        return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from module_cluster(tmp_path_factory, "dashboard")


@pytest.fixture(scope="module")
def page(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    root = tmp_path_factory.mktemp("browser")
    driver = browser.start(root / "profile")
    try:
        page = Page(driver, cluster.followers()[0], root)
        page.open()
        yield page
    finally:
        driver.quit()


def other_node(cluster: Cluster, page: Page) -> Node:
    return next(node for node in cluster.running() if node is not page.node)


def test_objects_created_at_another_node_appear_without_a_reload(cluster: Cluster, page: Page) -> None:
    elsewhere = other_node(cluster, page)
    assert elsewhere.post("/api/v1/printers", {"id": "mk4", "company": "Prusa", "model": "MK4"}).status == 201
    spool = {"id": "pla", "type": "PLA", "color": "Black", "total_weight_in_grams": 1000,
             "remaining_weight_in_grams": 800}  # fmt: skip
    assert elsewhere.post("/api/v1/filaments", spool).status == 201
    job = {"job_id": "benchy", "printer_id": "mk4", "filament_id": "pla", "print_weight_in_grams": 150}
    assert elsewhere.post("/api/v1/print_jobs", job).status == 201

    wait_for(lambda: page.present("[data-job=benchy]"), 10, what="the job on the page")
    assert page.present("[data-printer=mk4]") and "Prusa MK4" in page.text("[data-printer=mk4]")
    wait_for(lambda: "150 g reserved" in page.text("[data-spool=pla]"), 10, what="the reservation")
    assert "650 g available" in page.text("[data-spool=pla]")
    assert "Queued" in page.text("[data-job=benchy]")
    assert page.not_reloaded()
    page.screenshot("created-elsewhere")


def test_actions_clicked_on_the_page_reach_the_api(cluster: Cluster, page: Page) -> None:
    elsewhere = other_node(cluster, page)
    page.click("[data-job=benchy] [data-action=start]")
    wait_for(
        lambda: elsewhere.get("/api/v1/print_jobs/benchy").json()["status"] == "Running", 10, what="Running"
    )
    wait_for(lambda: page.present("[data-job=benchy] [data-action=pause]"), 10, what="the pause button")

    # A refusal shows the problem's detail next to the action that caused it.
    job = {"job_id": "gears", "printer_id": "mk4", "filament_id": "pla", "print_weight_in_grams": 20}
    assert elsewhere.post("/api/v1/print_jobs", job).status == 201
    wait_for(lambda: page.present("[data-job=gears] [data-action=start]"), 10, what="the second job")
    page.click("[data-job=gears] [data-action=start]")
    refusal = elsewhere.put("/api/v1/print_jobs/gears/status?status=Running").json()
    assert refusal["code"] == "printer_busy"
    wait_for(
        lambda: page.text("[data-job=gears] .error") == refusal["detail"], 10, what="the refusal's detail"
    )
    assert elsewhere.post("/api/v1/printers", {"id": "mini", "company": "P", "model": "Mini"}).status == 201
    wait_for(lambda: page.present("[data-printer=mini]"), 10, what="an unrelated change")
    assert page.text("[data-job=gears] .error") == refusal["detail"]  # still beside the action

    page.fill("[data-job=benchy] .fail .used", "12")
    page.click("[data-job=benchy] [data-action=fail]")
    wait_for(
        lambda: elsewhere.get("/api/v1/print_jobs/benchy").json()["status"] == "Failed", 10, what="Failed"
    )
    assert elsewhere.get("/api/v1/print_jobs/benchy").json()["used_weight_in_grams"] == 12

    page.click("#printers-section summary")
    page.fill("#printer-form [name=id]", "x1c")
    page.fill("#printer-form [name=company]", "Bambu Lab")
    page.fill("#printer-form [name=model]", "X1C")
    page.click("#printer-form button[type=submit]")
    wait_for(
        lambda: elsewhere.get("/api/v1/printers/x1c").status == 200, 10, what="the printer from the form"
    )
    wait_for(lambda: page.present("[data-printer=x1c]"), 10, what="the new printer on the page")
    page.fill("#printer-form [name=id]", "x1c")  # again: refused, and the form says why
    page.fill("#printer-form [name=company]", "Bambu Lab")
    page.fill("#printer-form [name=model]", "X1C")
    page.click("#printer-form button[type=submit]")
    wait_for(lambda: "already exists" in page.text("#printer-form .error"), 10, what="the form's refusal")

    page.driver.find_element(CSS, "#job-filter").send_keys("Failed")
    wait_for(
        lambda: not page.present("[data-job=gears]") and page.present("[data-job=benchy]"), 10, what="filter"
    )
    assert page.not_reloaded()
    page.screenshot("actions")


def test_the_page_shows_the_new_leader_after_the_leader_is_killed(cluster: Cluster, page: Page) -> None:
    old = cluster.leader()
    assert old is not page.node
    wait_for(lambda: page.text("#cluster-facts [data-fact=leader]") == old.node_id, 10, what="the leader")
    old.kill()
    new = cluster.leader(timeout=20, exclude=[old.node_id])
    wait_for(lambda: page.text("#cluster-facts [data-fact=leader]") == new.node_id, 15, what="the new leader")
    assert "leader" in page.text(f"#members [data-member={new.node_id}]")
    wait_for(lambda: not page.driver.find_element(CSS, "#banner").is_displayed(), 15, what="the banner to go")
    # Live updates still flow after the failover.
    assert new.post("/api/v1/printers", {"id": "after", "company": "c", "model": "m"}).status == 201
    wait_for(lambda: page.present("[data-printer=after]"), 10, what="a printer created after the failover")
    assert page.not_reloaded()
    page.screenshot("new-leader")


def test_a_banner_says_when_there_is_no_leader_or_no_stream_and_the_page_recovers(
    cluster: Cluster, page: Page
) -> None:
    banner = "#banner"
    other = next(node for node in cluster.running() if node is not page.node)
    dead = next(node for node in cluster.nodes if not node.alive())
    other.kill()  # two of three down: no majority, no leader
    wait_for(lambda: "No leader" in page.text(banner), 20, what="the no-leader banner")
    page.screenshot("no-leader")
    dead.start()
    wait_for(lambda: not page.driver.find_element(CSS, banner).is_displayed(), 30, what="the banner to go")
    other.start()
    cluster.wait_converged()

    page.node.stop()  # the page's own node: its stream drops and nothing answers
    wait_for(lambda: "Live updates interrupted" in page.text(banner), 15, what="the dropped-stream banner")
    assert page.text("#live") == "offline"
    page.screenshot("node-down")
    elsewhere = next(node for node in cluster.running() if node is not page.node)
    created = elsewhere.post(
        "/api/v1/printers", {"id": "while-down", "company": "c", "model": "m"}, timeout=20
    )
    assert created.status == 201, created.body
    page.node.start()
    wait_for(lambda: page.text("#live") == "live", 30, what="the stream to resume")
    wait_for(lambda: page.present("[data-printer=while-down]"), 15, what="what changed while it was down")
    wait_for(lambda: not page.driver.find_element(CSS, banner).is_displayed(), 15, what="the banner to go")
    assert page.not_reloaded()


def test_no_request_leaves_the_node_and_no_console_error(page: Page) -> None:
    page.collect_logs()
    hosts = browser.requested_hosts(page.network)
    assert hosts == {f"127.0.0.1:{page.node.http_port}"}, hosts
    # Network entries are the browser reporting answers such as the 409 the test provoked; ours are the rest.
    ours = [
        entry for entry in page.console if entry["level"] == "SEVERE" and entry.get("source") != "network"
    ]
    assert ours == [], ours
    reported = [entry["message"] for entry in page.console if entry.get("source") == "network"]
    assert any("/api/v1/print_jobs/gears/status" in message for message in reported), reported
    assert any("/api/v1/printers - " in message and "409" in message for message in reported), reported
    assert all(message.startswith(page.node.url + "/") for message in reported), reported


def test_with_access_control_the_page_asks_for_a_token_and_disables_what_the_role_may_not_do(
    cluster_factory: Any, tmp_path: Path
) -> None:
    cluster = cluster_factory()
    cluster.bootstrap()
    node = cluster.followers()[0]
    boot = node.post("/api/v1/acl/bootstrap", {})
    if boot.status == 404:
        pytest.skip("this build has no access control (POST /api/v1/acl/bootstrap is 404)")
    assert boot.status == 201, boot.body
    admin = {"Authorization": f"Bearer {boot.json()['token']}"}
    viewer = node.post("/api/v1/tokens", {"name": "wall screen", "role": "viewer"}, headers=admin).json()
    job = {"job_id": "j1", "printer_id": "p1", "filament_id": "f1", "print_weight_in_grams": 5}
    spool = {"id": "f1", "type": "PLA", "color": "Black", "total_weight_in_grams": 100,
             "remaining_weight_in_grams": 100}  # fmt: skip
    for path, body in (("/api/v1/printers", {"id": "p1", "company": "c", "model": "m"}),
                       ("/api/v1/filaments", spool), ("/api/v1/print_jobs", job)):  # fmt: skip
        assert node.post(path, body, headers=admin).status == 201

    driver = browser.start(tmp_path / "profile")
    try:
        page = Page(driver, node, tmp_path)
        driver.get(node.url + "/")  # the page itself is served without a token; its API calls are not
        wait_for(lambda: driver.find_element(CSS, "#token-form").is_displayed(), 15, what="the token prompt")
        assert "token" in page.text("#banner")
        page.fill("#token-input", viewer["token"])
        page.click("#token-form button[type=submit]")
        wait_for(lambda: page.present("[data-job=j1]"), 15, what="the farm, read with the token")
        wait_for(lambda: page.text("#live") == "live", 15, what="the stream, with the token")
        assert driver.execute_script("return sessionStorage.getItem('printfarm.token')") == viewer["token"]
        page.click("[data-job=j1] [data-action=start]")
        wait_for(lambda: "viewer" in page.text("[data-job=j1] .error"), 10, what="the 403's detail")
        wait_for(lambda: page.driver.find_element(CSS, "#printer-form button").get_attribute("disabled"), 10)
        assert (
            node.post("/api/v1/printers", {"id": "p2", "company": "c", "model": "m"}, headers=admin).status
            == 201
        )
        wait_for(lambda: page.present("[data-printer=p2]"), 10, what="live changes with a token")
        page.screenshot("viewer-token")
        ours = [
            e for e in driver.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"
        ]
        assert ours == []
    finally:
        driver.quit()
