"""`python -m sim` is the `modsim` command."""

from sim.cli import main

main()
