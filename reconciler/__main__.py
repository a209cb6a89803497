"""``python -m reconciler`` runs the calrecon command line."""

from reconciler.cli import main

main()
