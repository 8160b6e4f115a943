"""``neurotrade serve``: the REST API under uvicorn; ``neurotrade serve key create|list|revoke``: its API keys."""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from neurotrade.cli._app import app
from neurotrade.cli._context import console, err_console, state
from neurotrade.errors import ConfigError

if TYPE_CHECKING:
    from neurotrade.serve import ServeSettings

serve_app = typer.Typer(
    help="Serve the workspace as a REST API (needs pip install 'neurotrade[serve]'); manage its API keys.",
    invoke_without_command=True,
)
key_app = typer.Typer(help="Create, list and revoke the API keys the server accepts.", no_args_is_help=True)

# More connections than this at once are answered 503 at once rather than queued without bound.
MAX_CONNECTIONS = 256


def _require_extra() -> None:
    """The serve extra's engines, or the error that names the extra to install."""
    from neurotrade.cluster import missing_extra

    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError as e:
            raise missing_extra(module, "serve", e) from e


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _settings(ctx: typer.Context, **options: object) -> ServeSettings:
    """The server's settings from its environment and command-line options; a bad value is the user's error."""
    from pydantic import ValidationError

    from neurotrade.serve import ServeSettings
    from neurotrade.serve._settings import ENV_PREFIX

    try:
        settings = ServeSettings.from_env(home=state(ctx).home, environ={**os.environ})
        return ServeSettings.model_validate({**settings.model_dump(), **options})
    except ValidationError as e:
        problems = "; ".join(
            f"{err['loc'][0]} (its option, or {ENV_PREFIX}{str(err['loc'][0]).upper()}): {err['msg']}, got "
            f"{err.get('input')!r}"
            for err in e.errors()
        )
        raise ConfigError(f"the server's settings are not valid: {problems}") from e


@serve_app.callback()
def serve_command(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Anything but loopback exposes the API to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="HTTP worker processes (uvicorn's).")] = 1,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="Jobs (training, backtests, searches) run at once.")] = 1,
    request_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=3600,
            help="Seconds a request may take to arrive whole (headers and body); a slower client gets 408 and is "
            "disconnected, so slow or silent connections cannot hold the server's connection slots.",
        ),
    ] = 30.0,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="A running Ray cluster (auto or HOST:PORT, see `ray start --head`): jobs send a run's trainings and "
            "a search's trials there. Default: runs train in the job's process, searches start a local Ray.",
        ),
    ] = None,
    ssl_certfile: Annotated[
        str | None, typer.Option(help="TLS certificate (PEM): serve HTTPS, so keys never cross a network in clear.")
    ] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM) of --ssl-certfile.")] = None,
    docs: Annotated[
        bool,
        typer.Option(
            "--docs",
            help="Serve interactive docs at /docs and the schema at /openapi.json without a key (for development "
            "on loopback). Default: the schema needs the key and there are no docs pages.",
        ),
    ] = False,
) -> None:
    """Serve the workspace as a REST API: validate strategies, run training, backtests and searches as jobs,
    list, show, verify and delete models, decide on posted bars (/predict) and read paper sessions. Every
    endpoint but /health needs an API key (`neurotrade serve key create`); the schema is at /openapi.json."""
    if ctx.invoked_subcommand is not None:
        return
    _require_extra()
    import uvicorn

    from neurotrade.serve import Database, list_keys

    settings = _settings(
        ctx,
        max_jobs=jobs,
        docs=docs,
        request_timeout_s=request_timeout,
        **({"ray_address": ray} if ray is not None else {}),
    )
    if not any(k.revoked_at is None for k in list_keys(Database(settings.database))):
        err_console.print(
            "[yellow]warning:[/] no API key yet: every endpoint but /health will answer 401. Create one with "
            "`neurotrade serve key create`.",
            highlight=False,
        )
    if not _is_loopback(host):
        err_console.print(
            f"[yellow]warning:[/] listening on {escape(host)}: the API is reachable from the network"
            + ("" if ssl_certfile else " and keys travel in clear text; give --ssl-certfile and --ssl-keyfile"),
            highlight=False,
        )
    os.environ.update(settings.to_env())  # uvicorn's workers build the app from the environment
    uvicorn.run(
        "neurotrade.serve._app:create_app",
        factory=True,
        http="neurotrade.serve._protocol:BoundedRequests",  # uvicorn's own, bounding the time and head of a request
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=30,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        server_header=False,
    )


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Option(help="What the key is for (a person, a machine), to tell keys apart.")
    ] = "default",
) -> None:
    """Create an API key and print it: it is shown this once and kept only as a salted hash."""
    from neurotrade.serve import Database, create_key

    settings = _settings(ctx)
    key = create_key(Database(settings.database), name)
    console.print(key, highlight=False, soft_wrap=True)
    err_console.print(
        f"key {escape(key[3:15])} ({escape(name)}) created; it cannot be shown again. Send it as "
        "`Authorization: Bearer KEY` or `X-API-Key: KEY`.",
        highlight=False,
    )


@key_app.command("list")
def key_list(ctx: typer.Context) -> None:
    """List the keys (ids, names, when made or revoked; never the keys themselves)."""
    from neurotrade.serve import Database, list_keys

    settings = _settings(ctx)
    keys = list_keys(Database(settings.database))
    if not keys:
        console.print("No API keys yet: create one with `neurotrade serve key create`.")
        return
    table = Table("id", "name", "created (UTC)", "revoked (UTC)")
    for k in keys:
        table.add_row(k.key_id, escape(k.name), k.created_at, k.revoked_at or "")
    console.print(table)


@key_app.command("revoke")
def key_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id: the 12 hex digits after nt_ (see `key list`).")],
) -> None:
    """Revoke a key: the server refuses it from the next request on."""
    from neurotrade.serve import Database, revoke_key

    settings = _settings(ctx)
    info = revoke_key(Database(settings.database), key_id)
    console.print(f"revoked {escape(info.key_id)} ({escape(info.name)})", highlight=False)


serve_app.add_typer(key_app, name="key")
app.add_typer(serve_app, name="serve")
