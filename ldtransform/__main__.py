"""``python -m ldtransform`` runs the command-line interface."""

from ldtransform.cli import main

main(prog_name="ldtransform")
