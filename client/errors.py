"""The client's errors: the cluster refused (ApiError, carrying the problem), or no node could be reached."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Base of everything `client.Client` raises."""


class ApiError(ClientError):
    """A node answered with an error status; the attributes are the problem+json body's members.

    4xx: the cluster refused the request (nothing applied); 5xx: it could not serve it, even after retries.
    """

    def __init__(self, status: int, problem: dict[str, Any] | None, url: str) -> None:
        problem = problem or {}
        self.status = status
        self.code: str = str(problem.get("code") or f"http_{status}")
        self.type: str = str(problem.get("type") or "about:blank")
        self.title: str = str(problem.get("title") or "")
        self.detail: str = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        self.field: str | None = problem.get("field")
        self.problem = problem
        self.url = url
        super().__init__(f"{status} {self.code}: {self.detail}")

    @property
    def refused(self) -> bool:
        """True when the cluster said no (4xx), False when it could not answer (5xx)."""
        return self.status < 500


class Unreachable(ClientError):
    """No node answered: every base URL refused the connection or timed out, for as long as retries lasted."""

    def __init__(self, urls: list[str], reason: str) -> None:
        self.urls = urls
        self.reason = reason
        super().__init__(f"no node reachable (tried {', '.join(urls)}): {reason}")
