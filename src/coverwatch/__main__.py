"""``python -m coverwatch`` runs the CLI."""

from coverwatch.cli import main

main()
