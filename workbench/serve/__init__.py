"""``workbench serve``: the Voila apps behind sign-in, with roles and per-user kernels.

The CLI calls :func:`add_arguments` on its ``serve`` sub-parser and :func:`run` with the parsed
arguments. Notebook code calls :func:`current_user` for who is signed in and with what authority.
See ``docs/serving.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["add_arguments", "run", "current_user", "NoSignedInUser"]


class NoSignedInUser(RuntimeError):
    """The kernel was not started by ``workbench serve`` for a signed-in user."""


def current_user() -> tuple[str, str, str]:
    """``(name, role, authority)`` of the user whose page this kernel runs.

    Set by ``workbench serve`` in the kernel's environment (``WORKBENCH_USER``,
    ``WORKBENCH_ROLE``, ``WORKBENCH_AUTHORITY``) from the sign-in and the roles file; the page
    cannot change them. ``authority`` is one of the credit policy's approval levels.

    Raises
    ------
    NoSignedInUser
        When any of them is missing, so that a page never runs without a user.
    """
    keys = ("WORKBENCH_USER", "WORKBENCH_ROLE", "WORKBENCH_AUTHORITY")
    if os.environ.get("VOILA_PREHEAT") == "True" and not os.environ.get(keys[0]):
        # a preheated Voila kernel: wait until a page request is handed over (with its user)
        from voila.utils import wait_for_request

        wait_for_request()
    values = [os.environ.get(k, "") for k in keys]
    if not all(values):
        raise NoSignedInUser(
            "No signed-in user: open this page through `workbench serve` (WORKBENCH_USER, "
            "WORKBENCH_ROLE and WORKBENCH_AUTHORITY are not all set)."
        )
    return values[0], values[1], values[2]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of ``workbench serve``."""
    from . import accounts

    parser.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    parser.add_argument("--ip", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; put a TLS proxy in front for others)")
    parser.add_argument("--users", type=Path, default=None,
                        help=f"users file, TOML or YAML (default $WORKBENCH_USERS_FILE or {accounts.default_users_file()})")
    parser.add_argument("--roles", type=Path, default=None,
                        help="roles file, TOML or YAML (default: the packaged workbench/serve/roles.toml)")
    parser.add_argument("--apps-dir", type=Path, default=None,
                        help="the folder of app notebooks served (default: notebooks/apps/)")
    parser.add_argument("--cull-idle-timeout", type=int, default=900,
                        help="seconds before an idle page's kernel is shut down (default 900)")
    parser.add_argument("--max-kernels-per-user", type=int, default=3,
                        help="open pages (kernels) per user (default 3)")
    parser.add_argument("--pool-size", type=int, default=1,
                        help="preheated kernels kept ready per app (default 1; 0: none)")
    return parser


def _first_user(users: Path, roles) -> bool:
    """On a terminal with no users yet: create the first one (name, role, password asked)."""
    import getpass

    from . import accounts

    print(f"No users in {users} yet: create the first one (Ctrl-C to stop).")
    try:
        name = input("User name: ").strip()
        role = input(f"Role ({', '.join(roles)}) [manager]: ").strip() or "manager"
        password = getpass.getpass("Password (8 characters or more): ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ")
            return False
        account = accounts.add_user(users, name, role, password)
    except (EOFError, KeyboardInterrupt):
        print()
        return False
    except accounts.AccountsError as exc:
        print(f"error: {exc}")
        return False
    print(f"{account.username} ({account.role}) saved in {users}; more users: "
          f"python -m workbench.serve adduser NAME --role ROLE")
    return True


def run(args: argparse.Namespace) -> int:
    """Start the server (blocks until SIGTERM / Ctrl-C); returns the exit status."""
    from workbench import config as wb_config

    from . import accounts
    from .app import serve

    users = Path(args.users) if args.users else accounts.default_users_file()
    try:
        roles = accounts.load_roles(args.roles)
        if not accounts.load_users(users, roles):
            if not (sys.stdin.isatty() and sys.stdout.isatty()) or not _first_user(users, roles):
                print(f"No users in {users}. Create one with:\n"
                      f"  python -m workbench.serve adduser NAME --role {{{','.join(roles)}}} --users {users}")
                return 2
    except accounts.AccountsError as exc:
        print(f"error: {exc}")
        return 2
    apps_dir = Path(args.apps_dir) if getattr(args, "apps_dir", None) else wb_config.NOTEBOOKS_DIR / "apps"
    return serve(apps_dir=apps_dir, users_file=users.resolve(), roles_file=args.roles, ip=args.ip,
                 port=args.port, cull_idle_timeout=getattr(args, "cull_idle_timeout", 900),
                 max_kernels_per_user=getattr(args, "max_kernels_per_user", 3),
                 pool_size=getattr(args, "pool_size", 1))
