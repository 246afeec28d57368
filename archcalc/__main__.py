"""``python -m archcalc`` runs the command line."""
from archcalc.cli import main

main()
