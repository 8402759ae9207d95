"""The ``scas`` command line. Each command is a thin call into the library, in the module of
its group (``services``, ``visitors``, ``footage``, ``venue``, ``cameras``, ``deploy``), all
on the one Typer app of :mod:`~scas_lib.cli.common`."""

from scas_lib.cli.common import app

# Imported for the commands they register, in the order `scas --help` lists them.
# isort: off
from scas_lib.cli import services, visitors, footage, venue, cameras, deploy  # noqa: F401
# isort: on

__all__ = ["app"]
