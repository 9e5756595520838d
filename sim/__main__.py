"""`python -m sim` is the `modsim` command."""

from sim.console import main

main()
