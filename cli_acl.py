"""`python cli.py acl bootstrap` and `python cli.py tokens list|create|revoke`: access control from the shell.

Every command takes --url (or PRINTFARM_URL) and --token (or PRINTFARM_TOKEN); an https URL is checked
against --ca-cert when given (a self-signed node certificate), else against the system's CAs. A secret is
printed only by the two commands that make one; an error prints the server's problem, never the token sent.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://127.0.0.1:8081"
TIMEOUT = 15.0


class _Client:
    def __init__(self, url: str, token: str | None, ca_cert: str | None) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.verify: Any = ca_cert or True

    def call(self, method: str, path: str, body: Any = None) -> Any:
        import httpx  # here, not at the top: `cli.py node` starts without loading an HTTP client

        try:
            with httpx.Client(verify=self.verify, timeout=TIMEOUT) as client:
                reply = client.request(method, self.url + path, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach {self.url}: {exc}") from None
        if reply.status_code >= 400:
            raise click.ClickException(_problem_text(reply))
        return reply.json() if reply.content else None


def _problem_text(reply: httpx.Response) -> str:
    try:
        problem = reply.json()
        return f"{reply.status_code} {problem.get('code')}: {problem.get('detail')}"
    except ValueError:
        return f"{reply.status_code} {reply.reason_phrase}"


def _connection(command: Any) -> Any:
    for option in reversed(
        [
            click.option("--url", envvar="PRINTFARM_URL", default=DEFAULT_URL, show_default=True,
                         help="Any node of the cluster [PRINTFARM_URL]."),
            click.option("--token", envvar="PRINTFARM_TOKEN", default=None,
                         help="An API token [PRINTFARM_TOKEN]."),
            click.option("--ca-cert", "ca_cert", envvar="PRINTFARM_CA_CERT", default=None, metavar="FILE",
                         help="Trust this certificate for an https URL [PRINTFARM_CA_CERT]."),
        ]
    ):  # fmt: skip
        command = option(command)
    return command


def _print(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


@click.group()
def acl() -> None:
    """Access control of the whole cluster."""


@acl.command()
@_connection
@click.option("--name", default="bootstrap", show_default=True, help="The admin token's name.")
def bootstrap(url: str, token: str | None, ca_cert: str | None, name: str) -> None:
    """Switch access control on (once, from this machine): prints the first admin token."""
    answer = _Client(url, token, ca_cert).call("POST", "/api/v1/acl/bootstrap", {"name": name})
    _print(answer)
    click.echo(
        "Keep this token safe: it is shown only now. Use it with --token or PRINTFARM_TOKEN.", err=True
    )


@click.group()
def tokens() -> None:
    """API tokens (admin)."""


@tokens.command("list")
@_connection
def list_tokens(url: str, token: str | None, ca_cert: str | None) -> None:
    """Every token: id, name, role, created_at (never a secret)."""
    for item in _Client(url, token, ca_cert).call("GET", "/api/v1/tokens"):
        click.echo(f"{item['id']}\t{item['role']}\t{item['created_at']}\t{item['name']}")


@tokens.command()
@_connection
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), required=True)
def create(url: str, token: str | None, ca_cert: str | None, name: str, role: str) -> None:
    """Create a token; prints it with its secret (shown only now)."""
    _print(_Client(url, token, ca_cert).call("POST", "/api/v1/tokens", {"name": name, "role": role}))


@tokens.command()
@_connection
@click.argument("token_id")
def revoke(url: str, token: str | None, ca_cert: str | None, token_id: str) -> None:
    """Revoke a token by its id (the last admin token cannot go)."""
    _Client(url, token, ca_cert).call("DELETE", f"/api/v1/tokens/{token_id}")
    click.echo(f"revoked {token_id}")
