"""``python -m pipelines`` runs the ``ilots`` command line."""

from pipelines.cli import main

main(prog_name="ilots")
