"""``python -m zoomingonline.cli``: the same as the ``zoomingonline`` command."""

from zoomingonline.cli import main

main(prog_name="zoomingonline")
