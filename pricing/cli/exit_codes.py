"""The exit codes every command shares (the spec's contract).

0 the output was written; 2 bad input or usage, one line, nothing written; 3 a target cannot be
reached; 4 the audit trail is broken (``audit verify``); 1 anything unexpected (with a traceback:
that is ours).
"""

__all__ = ["EXIT_OK", "EXIT_UNEXPECTED", "EXIT_BAD_INPUT", "EXIT_TARGET_UNREACHABLE", "EXIT_TRAIL_BROKEN"]

EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_TARGET_UNREACHABLE = 0, 1, 2, 3
EXIT_TRAIL_BROKEN = 4
