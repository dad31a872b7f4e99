"""The command-line client: `printers`, `filaments`, `jobs`, `events`, `cluster status|join|remove|transfer`.

cli.py registers them on its click group (`global_options`, `register`, `register_cluster`). Exit codes:
0 done; 1 the cluster refused (`error: 409 invalid_transition: <detail>` on stderr); 2 usage (click's);
3 no node reachable, or a 5xx answer after the retries.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from client import output
from client.errors import ApiError, ClientError, Unreachable
from client.urls import DEFAULT_URL, parse_urls

if TYPE_CHECKING:
    from client.api import Client

F = TypeVar("F", bound=Callable[..., Any])
EXIT_REFUSED = 1
EXIT_UNAVAILABLE = 3


@dataclass
class Settings:
    url: str = DEFAULT_URL
    token: str | None = None
    json: bool = False
    consistency: str | None = None

    def client(self) -> Client:
        from client.api import Client  # httpx loads only when a client command runs

        return Client(self.url, self.token, consistency=self.consistency)


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def store(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if name == "url" and value is not None:
            try:
                parse_urls(value)
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
        setattr(ctx.ensure_object(Settings), name, value)
        return value

    return store


def global_options(group: F) -> F:
    """--url, --token, --json, --consistency on the top-level group (stored in ctx.obj, not passed on)."""
    options = [
        click.option(
            "--url", envvar="PRINTFARM_URL", default=DEFAULT_URL, show_default=True, expose_value=False,
            callback=_setter("url"), metavar="URL[,URL...]",
            help="Node(s) to talk to, tried in order [env PRINTFARM_URL].",
        ),
        click.option(
            "--token", envvar="PRINTFARM_TOKEN", default=None, expose_value=False, callback=_setter("token"),
            help="API token, sent as a Bearer header [env PRINTFARM_TOKEN].",
        ),
        click.option(
            "--json", "json_", is_flag=True, expose_value=False, callback=_setter("json"),
            help="Print the API's JSON answer as it came.",
        ),
        click.option(
            "--consistency", type=click.Choice(["stale", "linearizable"]), default=None, expose_value=False,
            callback=_setter("consistency"), help="stale: reads answer from the asked node's own copy.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        group = option(group)
    return group


def _settings() -> Settings:
    return click.get_current_context().ensure_object(Settings)


def guarded(command: F) -> F:
    """Turns the client's errors into one line on stderr and the documented exit code (never a traceback)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ApiError as error:
            click.echo(f"error: {error.status} {error.code}: {error.detail}", err=True)
            sys.exit(EXIT_REFUSED if error.refused else EXIT_UNAVAILABLE)
        except Unreachable as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_UNAVAILABLE)
        except ClientError as error:  # the node answered something that is not the API
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_UNAVAILABLE)

    return run  # type: ignore[return-value]


def _call(action: Callable[[Client], Any], render: Callable[[Any], str] | None) -> None:
    """Run `action` with a client; print the raw answer with --json, else `render(answer)`."""
    settings = _settings()
    with settings.client() as farm:
        value = action(farm)
        if settings.json:
            reply = farm.last_response
            if reply is not None and reply.content:
                click.echo(reply.text)
        elif render is not None:
            output.echo(render(value))


def _rows(columns: list[tuple[str, str]]) -> Callable[[Any], str]:
    return lambda rows: output.table(rows, columns)


def _said(text: str) -> Callable[[Any], str]:
    return lambda _value: text


# --- printers ---------------------------------------------------------------------------------------------


@click.group()
def printers() -> None:
    """List, show, add and remove printers."""


@printers.command("list")
@guarded
def printers_list() -> None:
    """List the printers."""
    _call(lambda farm: farm.printers(), _rows(output.PRINTER_COLUMNS))


@printers.command("show")
@click.argument("printer_id")
@guarded
def printers_show(printer_id: str) -> None:
    """Show one printer."""
    _call(lambda farm: farm.printer(printer_id), output.block)


@printers.command("add")
@click.argument("printer_id")
@click.option("--company", required=True)
@click.option("--model", required=True)
@guarded
def printers_add(printer_id: str, company: str, model: str) -> None:
    """Add a printer."""
    _call(lambda farm: farm.create_printer(printer_id, company, model), output.block)


@printers.command("disconnect")
@click.argument("printer_id")
@guarded
def printers_disconnect(printer_id: str) -> None:
    """Remove a printer's OctoPrint connection."""
    _call(lambda farm: farm.update_printer(printer_id, connection=None), output.block)


@printers.command("rm")
@click.argument("printer_id")
@guarded
def printers_rm(printer_id: str) -> None:
    """Remove a printer (refused while an active job uses it)."""
    _call(lambda farm: farm.delete_printer(printer_id), _said(f"removed printer {printer_id}"))


# --- filaments --------------------------------------------------------------------------------------------


@click.group()
def filaments() -> None:
    """List, show, add and remove filament spools."""


@filaments.command("list")
@guarded
def filaments_list() -> None:
    """List the spools with their remaining, reserved and available grams."""
    _call(lambda farm: farm.filaments(), _rows(output.FILAMENT_COLUMNS))


@filaments.command("show")
@click.argument("filament_id")
@guarded
def filaments_show(filament_id: str) -> None:
    """Show one spool."""
    _call(lambda farm: farm.filament(filament_id), output.block)


@filaments.command("add")
@click.argument("filament_id")
@click.option("--type", "type_", required=True, help="Material, e.g. PLA.")
@click.option("--color", required=True)
@click.option("--total", type=click.IntRange(0), required=True, help="Spool weight in grams.")
@click.option("--remaining", type=click.IntRange(0), default=None, help="Grams left [the total].")
@click.option("--low-stock", type=click.IntRange(0), default=None, help="Low stock below this many grams.")
@guarded
def filaments_add(
    filament_id: str, type_: str, color: str, total: int, remaining: int | None, low_stock: int | None
) -> None:
    """Add a spool."""
    extra = {} if low_stock is None else {"low_stock_threshold_in_grams": low_stock}
    _call(
        lambda farm: farm.create_filament(filament_id, type_, color, total, remaining, **extra), output.block
    )


@filaments.command("rm")
@click.argument("filament_id")
@guarded
def filaments_rm(filament_id: str) -> None:
    """Remove a spool (refused while an active job uses it)."""
    _call(lambda farm: farm.delete_filament(filament_id), _said(f"removed filament {filament_id}"))


# --- print jobs -------------------------------------------------------------------------------------------


@click.group()
def jobs() -> None:
    """List, show and add print jobs, and move them through their lifecycle."""


@jobs.command("list")
@click.option("--status", default=None, help="Queued, Running, Paused, Done, Cancelled or Failed.")
@click.option("--printer", default=None, help="Only this printer's jobs.")
@click.option("--filament", default=None, help="Only jobs on this filament.")
@guarded
def jobs_list(status: str | None, printer: str | None, filament: str | None) -> None:
    """List print jobs, optionally only some."""
    _call(lambda farm: farm.jobs(status, printer, filament), _rows(output.JOB_COLUMNS))


@jobs.command("show")
@click.argument("job_id")
@guarded
def jobs_show(job_id: str) -> None:
    """Show one print job."""
    _call(lambda farm: farm.job(job_id), output.block)


@jobs.command("add")
@click.argument("job_id")
@click.option("--printer", required=True)
@click.option("--filament", required=True)
@click.option("--weight", type=click.IntRange(0), required=True, help="Grams the print needs.")
@click.option("--details", default=None)
@click.option("--priority", type=click.IntRange(-100, 100), default=None, help="Higher runs first [0].")
@click.option("--file", "gcode", default=None, help="G-code file in the printer's OctoPrint to print.")
@guarded
def jobs_add(
    job_id: str,
    printer: str,
    filament: str,
    weight: int,
    details: str | None,
    priority: int | None,
    gcode: str | None,
) -> None:
    """Queue a print job; its weight is reserved on the spool."""
    extra: dict[str, Any] = {} if priority is None else {"priority": priority}
    if gcode is not None:
        extra["file"] = gcode
    _call(lambda farm: farm.create_job(job_id, printer, filament, weight, details, **extra), output.block)


def _transition(name: str, status: str, used: bool = False, reason: bool = False) -> None:
    """`jobs NAME ID` moves the job to `status` (with --used / --reason where they apply)."""

    @guarded
    def command(job_id: str, used: int | None = None, reason: str | None = None) -> None:
        _call(lambda farm: farm.set_job_status(job_id, status, used, reason), output.block)

    command.__doc__ = f"Set the job's status to {status}."
    command = click.argument("job_id")(command)
    if used:
        command = click.option("--used", type=click.IntRange(0), default=None, help="Grams used so far.")(
            command
        )
    if reason:
        command = click.option("--reason", default=None, help="Why it failed (adhesion, clog, ...).")(command)
    jobs.command(name)(command)


for _name, _status in (("start", "Running"), ("pause", "Paused"), ("resume", "Running"), ("done", "Done")):
    _transition(_name, _status)
_transition("cancel", "Cancelled", used=True)
_transition("fail", "Failed", used=True, reason=True)


# --- the farm's workflow (on nodes that serve it) ---------------------------------------------------------


@printers.command("queue")
@click.argument("printer_id")
@guarded
def printers_queue(printer_id: str) -> None:
    """The printer's Queued jobs, in the order they will run."""
    _call(lambda farm: farm.printer_queue(printer_id), _rows(output.JOB_COLUMNS))


@printers.command("clear-bed")
@click.argument("printer_id")
@guarded
def printers_clear_bed(printer_id: str) -> None:
    """Say the printer's bed is clear again, so its next job may start."""
    _call(lambda farm: farm.clear_bed(printer_id), _said(f"bed of {printer_id} is clear"))


@printers.command("maintenance")
@click.argument("printer_id")
@click.argument("state", type=click.Choice(["on", "off"]))
@guarded
def printers_maintenance(printer_id: str, state: str) -> None:
    """Take a printer out of service (on) or back into it (off)."""
    _call(lambda farm: farm.update_printer(printer_id, maintenance=state == "on"), output.block)


@printers.command("connect")
@click.argument("printer_id")
@click.option("--octoprint", "url", required=True, metavar="URL", help="The printer's OctoPrint, http(s)://HOST:PORT.")
@click.option(
    "--api-key", "api_key", default=None, envvar="PRINTFARM_OCTOPRINT_KEY",
    help="OctoPrint's API key [$PRINTFARM_OCTOPRINT_KEY]; asked for (hidden) when neither is given. "
    "Prefer the variable or the prompt: an argument shows in ps and the shell's history.",
)  # fmt: skip
@guarded
def printers_connect(printer_id: str, url: str, api_key: str | None) -> None:
    """Connect a printer to its OctoPrint at URL: the leader follows it and dispatches its queue."""
    key = api_key or click.prompt("OctoPrint API key", hide_input=True)
    connection = {"kind": "octoprint", "url": url, "api_key": key}
    _call(lambda farm: farm.update_printer(printer_id, connection=connection), output.block)


@jobs.command("progress")
@click.argument("job_id")
@click.option("--percent", type=click.IntRange(0, 100), default=None, help="How far the print is.")
@click.option("--used", type=click.IntRange(0), default=None, help="Grams used so far.")
@guarded
def jobs_progress(job_id: str, percent: int | None, used: int | None) -> None:
    """Report a Running or Paused job's progress and the grams it used so far."""
    if percent is None and used is None:
        raise click.UsageError("give --percent, --used or both")
    _call(lambda farm: farm.report_progress(job_id, percent, used), output.block)


@jobs.command("priority")
@click.argument("job_id")
@click.argument("priority", type=click.IntRange(-100, 100))
@guarded
def jobs_priority(job_id: str, priority: int) -> None:
    """Change a Queued job's priority (-100..100; higher runs first)."""
    _call(lambda farm: farm.update_job(job_id, priority=priority), output.block)


@jobs.command("retry")
@click.argument("job_id")
@click.argument("new_job_id")
@guarded
def jobs_retry(job_id: str, new_job_id: str) -> None:
    """Queue NEW_JOB_ID as a retry of a Failed or Cancelled job."""
    _call(lambda farm: farm.retry_job(job_id, new_job_id), output.block)


@filaments.command("ledger")
@click.argument("filament_id")
@click.option("--limit", type=click.IntRange(1), default=None)
@click.option("--offset", type=click.IntRange(0), default=None)
@guarded
def filaments_ledger(filament_id: str, limit: int | None, offset: int | None) -> None:
    """Every change of the spool's grams, oldest first."""
    _call(lambda farm: farm.ledger(filament_id, limit, offset), _rows(output.LEDGER_COLUMNS))


@click.command()
@guarded
def stats() -> None:
    """Counts of jobs by status and failure reason, grams consumed, printers by status."""
    _call(lambda farm: farm.stats(), output.stats)


# --- events -----------------------------------------------------------------------------------------------


@click.command()
@click.option("--after", type=click.IntRange(0), default=None, help="Start after this log index [now].")
@click.option("--count", type=click.IntRange(1), default=None, help="Stop after this many events.")
@guarded
def events(after: int | None, count: int | None) -> None:
    """Follow the cluster's changes (GET /api/v1/events) until Ctrl-C, resuming after a dropped stream."""
    settings = _settings()
    seen = 0
    try:
        with settings.client() as farm:
            for event in farm.events(after):
                if settings.json:
                    click.echo(event.raw)
                else:
                    click.echo(f"{event.index:>8}  {event.type:<20} {output.cell(event.data)}")
                seen += 1
                if count is not None and seen >= count:
                    return
    except KeyboardInterrupt:
        return


# --- cluster (client side; cli.py's `cluster` group runs a local cluster when given no subcommand) ----------


def _status_text(status: dict[str, Any]) -> str:
    head = {
        "node": status.get("node_id"),
        "state": status.get("state"),
        "term": status.get("term"),
        "leader": status.get("leader_id"),
        "commit index": status.get("commit_index"),
        "applied index": status.get("applied_index"),
    }
    if isinstance(status.get("commit_index"), int) and isinstance(status.get("applied_index"), int):
        head["lag"] = status["commit_index"] - status["applied_index"]
    members = [
        {**member, "leader": "*" if member.get("node_id") == status.get("leader_id") else ""}
        for member in status.get("members", [])
    ]
    return output.block(head) + "\n\n" + output.table(members, output.MEMBER_COLUMNS)


@click.command("status")
@guarded
def cluster_status() -> None:
    """The asked node's view: role, term, leader, commit and applied index, members."""
    _call(lambda farm: farm.raft_status(), _status_text)


@click.command("join")
@click.argument("node_id")
@click.argument("addr")
@guarded
def cluster_join(node_id: str, addr: str) -> None:
    """Add NODE_ID (peer address HOST:PORT) as a learner; the leader promotes it once caught up."""
    _call(lambda farm: farm.join(node_id, addr), _said(f"{node_id} joined ({addr})"))


@click.command("remove")
@click.argument("node_id")
@guarded
def cluster_remove(node_id: str) -> None:
    """Remove NODE_ID from the cluster."""
    _call(lambda farm: farm.remove_member(node_id), _said(f"removed {node_id}"))


@click.command("transfer")
@click.argument("node_id")
@guarded
def cluster_transfer(node_id: str) -> None:
    """Hand leadership to NODE_ID."""
    _call(lambda farm: farm.transfer_leadership(node_id), _said(f"leadership transferred to {node_id}"))


def register(group: click.Group) -> None:
    for command in (printers, filaments, jobs, events, stats):
        group.add_command(command)


def register_cluster(group: click.Group) -> None:
    for command in (cluster_status, cluster_join, cluster_remove, cluster_transfer):
        group.add_command(command)
