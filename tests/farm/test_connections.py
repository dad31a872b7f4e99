"""The rules for a printer connection's settings (farm/connections.py)."""

from __future__ import annotations

from typing import Any

import pytest

from farm import connections


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000",
        "http://octopi.local",
        "https://printers.example.com/octoprint/",
        "http://[::1]:8080",
        "HTTP://OctoPi.local:80",
    ],
)
def test_good_urls(url: str) -> None:
    assert connections.check_url(url, "connection.url") is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (5, "string"),
        (None, "string"),
        ("", "1 to"),
        ("ftp://octopi.local", "http"),
        ("octopi.local:5000", "http"),
        ("http://", "host"),
        ("http://user:secret@octopi.local", "password"),
        ("http://octopi.local/?apikey=x", "query"),
        ("http://octopi.local/#x", "fragment"),
        ("http://octopi.local:99999", "valid URL"),
        ("http://octopi.local:port", "valid URL"),
        ("http://octo pi.local", "spaces"),
        ("http://octopi.local/\n", "printable"),
        ("http://é.local", "ASCII"),
        ("http://x/" + "a" * 2048, "2048"),
    ],
)
def test_bad_urls_say_why(url: Any, words: str) -> None:
    refusal = connections.check_url(url, "connection.url")
    assert refusal is not None and refusal.code == "invalid_field" and refusal.field == "connection.url"
    assert words in refusal.detail


@pytest.mark.parametrize("key", ["ABCDEF0123456789ABCDEF0123456789", "k", "a-b_c.d~e+f/g=", "x" * 256])
def test_good_keys(key: str) -> None:
    assert connections.check_api_key(key, "connection.api_key") is None


@pytest.mark.parametrize("key", [None, 12, "", "two words", "line\nbreak", "tab\t", "ключ", "x" * 257])
def test_bad_keys(key: Any) -> None:
    refusal = connections.check_api_key(key, "connection.api_key")
    assert refusal is not None and refusal.field == "connection.api_key"
    assert "two words" not in refusal.detail  # a refusal never repeats the key


def test_kind_and_state_words() -> None:
    assert connections.check_kind("octoprint", "connection.kind") is None
    assert connections.check_kind("moonraker", "connection.kind") is not None
    assert connections.check_connection_state("unauthorized", "connection_state") is None
    assert connections.check_connection_state("Connected", "connection_state") is not None


def test_reads_mask_the_key() -> None:
    assert connections.shown("octoprint", "http://a:1") == {
        "kind": "octoprint",
        "url": "http://a:1",
        "api_key": "***",
    }
    assert connections.shown(None, None) is None
