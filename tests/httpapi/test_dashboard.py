"""GET / and /dashboard/{asset}: the page and its files come from the package, and point nowhere else."""

from __future__ import annotations

import re

import pytest

from httpapi.dashboard import ASSETS, STATIC


def test_the_page_is_served_at_the_root_with_a_policy_that_keeps_it_on_this_node(client) -> None:
    result = client.simulate_get("/")
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/html")
    policy = result.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for asset in ASSETS:
        assert f'"/dashboard/{asset}"' in result.text


@pytest.mark.parametrize(
    "asset,content_type",
    [("app.js", "text/javascript"), ("style.css", "text/css"), ("icon.svg", "image/svg+xml")],
)
def test_each_asset_is_served_with_its_type(client, asset, content_type) -> None:
    result = client.simulate_get(f"/dashboard/{asset}")
    assert result.status_code == 200 and result.headers["content-type"].startswith(content_type)
    assert result.content == (STATIC / asset).read_bytes()


def test_an_unknown_asset_is_a_404_problem(client) -> None:
    result = client.simulate_get("/dashboard/..%2Fapp.py")
    assert result.status_code == 404 and result.json["code"] == "not_found"


def test_no_asset_loads_anything_from_elsewhere() -> None:
    # No CDN, no web font, no absolute URL: the page must work on a farm with no internet.
    for path in STATIC.iterdir():
        text = path.read_text()
        urls = re.findall(r"https?://[^\s\"')]+", text)
        assert urls in ([], ["http://www.w3.org/2000/svg"]), (path.name, urls)


def test_the_dashboard_paths_are_the_page_and_its_files_only() -> None:
    from httpapi.dashboard import is_dashboard_path

    assert is_dashboard_path("/") and is_dashboard_path("/dashboard/app.js")
    assert not any(map(is_dashboard_path, ["/api/v1/printers", "/raft/status", "/dashboard", "//"]))
