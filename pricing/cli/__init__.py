"""The command line, a thin shell: parse the arguments, call the library, print and exit.

``main`` (``pricing.cli.main``) dispatches to one small module per command (``optimize``, ``fit``).
May import every other part of ``pricing`` and ``models``; nothing imports it but ``pricing.__main__``.
"""

from pricing.cli.exit_codes import EXIT_BAD_INPUT, EXIT_OK, EXIT_TARGET_UNREACHABLE, EXIT_UNEXPECTED
from pricing.cli.main import build_parser, main

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_UNEXPECTED", "EXIT_BAD_INPUT", "EXIT_TARGET_UNREACHABLE"]
