"""The ``scas`` command line. Each command is a thin call into the library, in the module
named for what the operator does with it: ``services`` (the servers and the models),
``visitors`` (enroll, link, forget, purge), ``recording`` (footage in: simulate, replay,
ingest, upload, cameras), ``event`` (start and end, recognize, highlights, analyze),
``venue`` (serve, kiosks) and ``deploy``; all on the one Typer app of
:mod:`~scas_lib.cli.common`."""

from scas_lib.cli.common import app

# Imported for the commands they register, in the order `scas --help` lists them.
# isort: off
from scas_lib.cli import services, visitors, recording, event, venue, deploy  # noqa: F401
# isort: on

__all__ = ["app"]
