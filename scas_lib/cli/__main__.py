"""``python -m scas_lib.cli``: the ``scas`` command."""

from scas_lib.cli import app

app()
