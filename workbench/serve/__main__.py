"""``python -m workbench.serve [serve options]`` and ``python -m workbench.serve adduser NAME --role R``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from . import accounts, add_arguments, run


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise accounts.AccountsError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")  # piped: the first line is the password


def adduser(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workbench.serve adduser",
        description="Add or replace a user; the password is read from the terminal or stdin, never argv.")
    parser.add_argument("name")
    parser.add_argument("--role", required=True)
    parser.add_argument("--users", type=Path, default=None)
    parser.add_argument("--roles", type=Path, default=None)
    parser.add_argument("--os-login", default=None,
                        help="the OS account this user runs workbench commands as (default: NAME)")
    args = parser.parse_args(argv)
    users = args.users or accounts.default_users_file()
    try:
        account = accounts.add_user(users, args.name, args.role, _read_password(), roles_file=args.roles,
                                    os_login=args.os_login)
    except accounts.AccountsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{account.username} ({account.role}) saved in {users}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["adduser"]:
        return adduser(argv[1:])
    parser = add_arguments(argparse.ArgumentParser(prog="python -m workbench.serve"))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
