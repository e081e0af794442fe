"""Users and roles of ``workbench serve``: the files, the password hashes, the lookups.

A **users file** (TOML or YAML) names each user, their role, an argon2 hash of their
password and, optionally, the operating-system login (``os_login``) they run commands as; a
**roles file** gives each role its credit-approval authority (one of the credit
policy's ``approval_levels``) and the apps it may open. Authority always comes from here,
never from anything typed in a page.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from workbench import config as _config

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_ROLES_FILE = PACKAGE_DIR / "roles.toml"
USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")

_hasher = PasswordHasher()
# verified against when the user does not exist, so that an unknown name costs the same time
_DUMMY_HASH = _hasher.hash("workbench-unknown-user")


class AccountsError(ValueError):
    """A users or roles file that cannot be used (names the file and the entry)."""


@dataclass(frozen=True)
class Role:
    name: str
    authority: str
    apps: tuple[str, ...] = field(default_factory=tuple)

    def may_open(self, app: str) -> bool:
        """Whether this role may open the app file ``app`` (a name such as ``credit_review.ipynb``)."""
        return any(fnmatch.fnmatchcase(app, pattern) for pattern in self.apps)


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    password_hash: str
    os_login: str | None = None     # the OS account this user runs `workbench` commands as


def approval_levels() -> list[str]:
    """The credit policy's approval levels, lowest first (``analyst``, ``manager``, ...)."""
    path = PACKAGE_DIR.parent / "policies" / "credit.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [tier["level"] for tier in data["approval_levels"]]


def _read_mapping(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(text) or {}
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise AccountsError(f"{path}: not valid TOML: {exc}") from exc
    if not isinstance(data, dict):
        raise AccountsError(f"{path}: expected a mapping at the top level")
    return data


def load_roles(path: str | os.PathLike | None = None) -> dict[str, Role]:
    """Read a roles file; every error in it is reported together."""
    path = Path(path) if path else DEFAULT_ROLES_FILE
    data = _read_mapping(path).get("roles")
    if not isinstance(data, dict) or not data:
        raise AccountsError(f"{path}: expected a [roles.<name>] table per role")
    levels = approval_levels()
    roles, errors = {}, []
    for name, spec in data.items():
        spec = spec or {}
        authority = spec.get("authority")
        apps = spec.get("apps", [])
        if authority not in levels:
            errors.append(f"{path}: role {name!r}: authority must be one of {levels}; got {authority!r}")
        if not isinstance(apps, list) or not all(isinstance(a, str) for a in apps):
            errors.append(f"{path}: role {name!r}: apps must be a list of file names or patterns")
            apps = []
        roles[name] = Role(name=name, authority=str(authority), apps=tuple(apps))
    if errors:
        raise AccountsError("\n".join(errors))
    return roles


def load_users(path: str | os.PathLike, roles: dict[str, Role] | None = None) -> dict[str, Account]:
    """Read a users file (``[users.<name>]`` with ``role`` and ``password_hash``)."""
    path = Path(path)
    if not path.exists():
        return {}
    data = _read_mapping(path).get("users") or {}
    users, errors = {}, []
    for name, spec in data.items():
        spec = spec or {}
        role, hashed = spec.get("role"), spec.get("password_hash", "")
        login = spec.get("os_login")
        if not USERNAME_RE.match(str(name)):
            errors.append(f"{path}: user {name!r}: names are lower-case letters, digits, '_', '.', '-'")
        if roles is not None and role not in roles:
            errors.append(f"{path}: user {name!r}: role must be one of {sorted(roles)}; got {role!r}")
        if not str(hashed).startswith("$argon2"):
            errors.append(f"{path}: user {name!r}: password_hash must be an argon2 hash")
        if login is not None and not str(login).strip():
            errors.append(f"{path}: user {name!r}: os_login is empty")
        users[name] = Account(username=name, role=str(role), password_hash=str(hashed),
                              os_login=None if login is None else str(login))
    logins = [u.os_login or u.username for u in users.values()]
    for login in sorted({x for x in logins if logins.count(x) > 1}):
        errors.append(f"{path}: the OS login {login!r} belongs to more than one user")
    if errors:
        raise AccountsError("\n".join(errors))
    return users


def verify_password(account: Account | None, password: str) -> bool:
    """Whether ``password`` matches the account's hash (constant work for unknown users)."""
    try:
        return _hasher.verify(account.password_hash if account else _DUMMY_HASH, password) and account is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _toml_str(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes
    return json.dumps(value)


def write_users(path: str | os.PathLike, users: dict[str, Account]) -> None:
    """Write the users file (TOML or YAML by suffix), readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(
            {"users": {u.username: {"role": u.role, "password_hash": u.password_hash,
                                    **({"os_login": u.os_login} if u.os_login else {})}
                       for u in users.values()}},
            sort_keys=True,
        )
    else:
        lines = ["# workbench serve users: edit with `python -m workbench.serve adduser NAME --role ROLE`", ""]
        for u in sorted(users.values(), key=lambda a: a.username):
            lines += [f"[users.{_toml_str(u.username)}]", f"role = {_toml_str(u.role)}",
                      f"password_hash = {_toml_str(u.password_hash)}",
                      *([f"os_login = {_toml_str(u.os_login)}"] if u.os_login else []), ""]
        text = "\n".join(lines)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def add_user(users_file, name: str, role: str, password: str, roles_file=None,
             os_login: str | None = None) -> Account:
    """Add or replace a user with a freshly hashed password (and, optionally, the OS login
    their commands run as; by default a login equal to the user name)."""
    roles = load_roles(roles_file)
    if role not in roles:
        raise AccountsError(f"role must be one of {sorted(roles)}; got {role!r}")
    if not USERNAME_RE.match(name):
        raise AccountsError(f"user name {name!r}: use lower-case letters, digits, '_', '.', '-'")
    if len(password) < 8:
        raise AccountsError("the password must have at least 8 characters")
    users = load_users(users_file, roles)
    users[name] = Account(username=name, role=role, password_hash=hash_password(password),
                          os_login=os_login or None)
    clash = [u.username for u in users.values()
             if u.username != name and (u.os_login or u.username) == (os_login or name)]
    if clash:
        raise AccountsError(f"the OS login {(os_login or name)!r} already belongs to {clash[0]!r}")
    write_users(users_file, users)
    return users[name]


def os_login() -> str:
    """The operating-system account running this process (from the process's user id, not from
    environment variables such as ``USER``, which anyone can set)."""
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def command_line_user(users_file=None, roles_file=None) -> tuple[str, str, str]:
    """``(name, role, authority)`` of whoever runs a ``workbench`` command: the users-file
    entry whose ``os_login`` (or, without one, whose name) is the OS login of this process.

    This is the command line's sign-in: what it records as actor and approver, and the authority
    it checks, come from here and the roles file, never from an option.

    Raises
    ------
    AccountsError
        When the OS login is nobody's, naming the file and the command that adds it.
    """
    path = Path(users_file) if users_file else default_users_file()
    roles = load_roles(roles_file)
    users = load_users(path, roles)
    login = os_login()
    for u in users.values():
        if (u.os_login or u.username) == login:
            return u.username, u.role, roles[u.role].authority
    raise AccountsError(
        f"the OS login {login!r} is not a workbench user in {path}: who decides comes from the "
        f"users file, not from an option. An administrator adds it with: python -m workbench.serve "
        f"adduser NAME --role ROLE --os-login {login}" + (f" --users {path}" if users_file else ""))


def default_users_file() -> Path:
    """``$WORKBENCH_USERS_FILE``, else ``data/serve/users.toml`` (outside git: data/ holds no code)."""
    return Path(os.environ.get("WORKBENCH_USERS_FILE") or _config.DATA_DIR / "serve" / "users.toml")
