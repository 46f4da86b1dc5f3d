"""``python -m pricing users add|remove|set-role|reset-password|list``: who signs in to the app.

Works on the store folder (``--store``, default ``$BUNDLE_PRICING_STORE`` or ``scenarios/``). The
person at the terminal is trusted (they hold the store file) and is named in the trail as
``console:<login name>``. A password is read without echo when the terminal is interactive,
else as the first line of standard input; it must be typed twice at a terminal. A password set
here is temporary: the user picks their own at first sign-in.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from models.errors import InputError
from pricing.access import Operator, Role, UserDirectory, parse_role
from pricing.access.passwords import check_password_rule
from pricing.cli.exit_codes import EXIT_OK

__all__ = ["add_parser", "run_users", "read_password"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``users`` sub-command on ``subparsers``."""
    parser = subparsers.add_parser("users", help="add, remove and change the app's users",
                                   description="Manage who signs in to the app (embedded users).")
    parser.add_argument("--store", type=Path, default=None, help="store folder (default: $BUNDLE_PRICING_STORE or scenarios/)")
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
    roles = ", ".join(r.value for r in Role)
    add = actions.add_parser("add", help="add a user; asks for their first password")
    add.add_argument("name")
    add.add_argument("--role", required=True, help=f"one of {roles}")
    actions.add_parser("remove", help="remove a user").add_argument("name")
    set_role = actions.add_parser("set-role", help="give a user another role")
    set_role.add_argument("name")
    set_role.add_argument("role", help=f"one of {roles}")
    actions.add_parser("reset-password", help="set a temporary password (lifts a lockout)").add_argument("name")
    actions.add_parser("list", help="list users, roles and locks")
    parser.set_defaults(handler=run_users)
    return parser


def read_password(prompt: str = "Password: ", stdin=None, is_tty: bool | None = None) -> str:
    """The new password: without echo (twice, to catch a typo) at a terminal, else the first line
    of standard input."""
    stdin = stdin if stdin is not None else sys.stdin
    if is_tty if is_tty is not None else stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise InputError("password", "the two entries differ")
        return first
    line = stdin.readline()
    if not line:
        raise InputError("password", "expected on standard input (one line), got nothing")
    return line.rstrip("\r\n")


def run_users(args: argparse.Namespace) -> int:
    """Handler of ``python -m pricing users``; returns the exit code."""
    users = UserDirectory(args.store)
    me = Operator(getpass.getuser())
    if args.action == "list":
        for user in users.list_users():
            flags = [f for f, on in (("must change password", user.must_change),
                                     ("locked", user.locked_until > users.clock())) if on]
            print(f"{user.username}\t{user.role.value}\t{user.last_sign_in or 'never signed in'}"
                  + (f"\t({', '.join(flags)})" if flags else ""))
        return EXIT_OK
    if args.action == "remove":
        users.remove(args.name, me)
        print(f"removed {args.name}")
        return EXIT_OK
    if args.action == "set-role":
        users.set_role(args.name, parse_role(args.role), me)
        print(f"{args.name} is now {args.role}")
        return EXIT_OK
    role = parse_role(args.role, "--role") if args.action == "add" else None
    password = read_password(f"Temporary password for {args.name}: ")
    check_password_rule(password, args.name.strip().lower())
    if args.action == "add":
        users.add(args.name, role, password, me)
        print(f"added {args.name.strip().lower()} as {role.value}; they choose their own password at first sign-in")
    else:
        users.reset_password(args.name, password, me)
        print(f"new temporary password set for {args.name}; they choose their own at next sign-in")
    return EXIT_OK
