"""``scas deploy up | down | status``: the Airflow deployment on loopback."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from scas_lib.cli.common import (
    app,
    console,
    friendly_errors,
    load_settings,
    print_steps,
)

# scas deploy: the Airflow deployment on loopback (scas_lib/deploy/loopback.py) ---------------

deploy_app = typer.Typer(
    help="Airflow as docker-compose.yaml deploys it (CeleryExecutor, Redis, workers for "
    "queues default and gpu), on this machine's loopback, without Docker.",
    no_args_is_help=True,
)
app.add_typer(deploy_app, name="deploy")


def _deployment() -> Any:
    from scas_lib.deploy.loopback import LoopbackDeployment

    return LoopbackDeployment(load_settings())


@deploy_app.command("up")
@friendly_errors
def deploy_up() -> None:
    """Start the servers, Airflow's scheduler, dag-processor, triggerer, API server and
    the two Celery workers; return once all are ready. Stop them with `scas deploy down`."""
    deployment = _deployment()
    print_steps(deployment.up())
    console.print(
        f"Airflow UI: {deployment.api_url} (user admin, password in "
        f"{deployment.secrets_dir / 'passwords.json'})"
    )


@deploy_app.command("down")
@friendly_errors
def deploy_down() -> None:
    """Stop every process of the deployment and the embedded servers (data is kept)."""
    stopped = _deployment().down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@deploy_app.command("status")
@friendly_errors
def deploy_status() -> None:
    """Each process of the deployment: running or stopped."""
    table = Table(title="SCAS deployment")
    for column in ("process", "state", "pid", "detail"):
        table.add_column(column)
    for item in _deployment().status():
        colour = "green" if item.state == "running" else "yellow"
        table.add_row(item.name, f"[{colour}]{item.state}[/]", str(item.pid or ""), item.detail)
    console.print(table)
