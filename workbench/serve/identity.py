"""Sign-in through Jupyter Server's own hooks: an ``IdentityProvider`` reading the users file.

* ``get_user`` (called by ``@web.authenticated`` / ``ws_authenticated`` on every Voila handler,
  page renders and kernel websockets included) accepts only a signed session cookie naming a user
  who is still in the users file; role and authority are looked up there on every request.
* ``process_login_form`` (called by the login handler) checks user name and password (argon2).
* The cookie is signed with ``Voila.cookie_secret`` (see :func:`workbench.serve.app.session_secret`)
  and expires after ``session_hours``.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.auth.login import LoginFormHandler
from jupyter_server.auth.logout import LogoutHandler
from tornado.escape import url_escape
from traitlets import Float, Unicode

from . import accounts

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")), autoescape=True
)


class WorkbenchIdentityProvider(IdentityProvider):
    """Named users with argon2 password hashes and a role each, from a users file."""

    users_file = Unicode("", config=True, help="TOML or YAML users file ([users.<name>] role, password_hash).")
    roles_file = Unicode("", config=True, help="TOML or YAML roles file; empty: the packaged roles.toml.")
    session_hours = Float(12.0, config=True, help="Lifetime of a sign-in cookie, in hours.")

    def __init__(self, **kwargs):
        # Voila passes its own password-only login form and token=""; ours asks for a user name
        kwargs["login_handler_class"] = WorkbenchLoginHandler
        kwargs["logout_handler_class"] = WorkbenchLogoutHandler
        kwargs["token"] = ""
        super().__init__(**kwargs)
        self.roles = accounts.load_roles(self.roles_file or None)
        self._users: dict[str, accounts.Account] = {}
        self._users_mtime: float | None = None
        self.users()  # fail at start-up on a bad users file, not at the first sign-in

    # -- the users file, re-read when it changes (adduser needs no restart) -----------------
    def users(self) -> dict[str, accounts.Account]:
        path = Path(self.users_file)
        mtime = path.stat().st_mtime if path.exists() else None
        if mtime != self._users_mtime:
            self._users = accounts.load_users(path, self.roles)
            self._users_mtime = mtime
        return self._users

    def account(self, username: str) -> accounts.Account | None:
        return self.users().get(username)

    def role_of(self, username: str) -> accounts.Role | None:
        account = self.account(username)
        return self.roles.get(account.role) if account else None

    # -- Jupyter Server hooks ------------------------------------------------------------------
    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True

    def get_user_token(self, handler):
        return None  # no tokens: only a signed-in session counts

    def user_to_cookie(self, user: User) -> str:
        return json.dumps({"username": user.username})

    def user_from_cookie(self, cookie_value: str) -> User | None:
        username = json.loads(cookie_value)["username"]
        if self.account(username) is None:  # removed from the users file: signed out
            return None
        return User(username=username)

    def set_login_cookie(self, handler, user: User) -> None:
        self.cookie_options.setdefault("expires_days", self.session_hours / 24)
        self.cookie_options.setdefault("samesite", "Lax")
        self.get_secure_cookie_kwargs.setdefault("max_age_days", self.session_hours / 24)
        super().set_login_cookie(handler, user)

    def get_user_cookie(self, handler):
        self.get_secure_cookie_kwargs.setdefault("max_age_days", self.session_hours / 24)
        return super().get_user_cookie(handler)

    def process_login_form(self, handler) -> User | None:
        username = handler.get_argument("username", default="").strip().lower()
        password = handler.get_argument("password", default="")
        account = self.account(username) if username else None
        if not accounts.verify_password(account, password):
            self.log.warning("Refused sign-in for %r from %s", username, handler.request.remote_ip)
            return None
        return User(username=username)

    def validate_security(self, app, ssl_options=None) -> None:
        if not self.users():
            app.log.warning("No users in %s: nobody can sign in (python -m workbench.serve adduser ...)",
                            self.users_file)


def render(handler, name: str, **context) -> str:
    return TEMPLATES.get_template(name).render(
        base_url=handler.base_url, xsrf_form_html=handler.xsrf_form_html(), **context
    )


class WorkbenchLoginHandler(LoginFormHandler):
    """``/login``: user name and password; ``next`` must stay on this server."""

    def _render(self, message=None):
        self.write(render(self, "login.html",
                          next=self.get_argument("next", default=self.base_url),
                          message=(message or {}).get("error")))

    @allow_unauthenticated
    def post(self):
        super().post()


class WorkbenchLogoutHandler(LogoutHandler):
    """``/logout``: clears the session cookie and shows the sign-in link."""

    @allow_unauthenticated
    def get(self):
        self.identity_provider.clear_login_cookie(self)
        self.write(render(self, "login.html", next=self.base_url, message=None, info="Signed out."))


def login_url(handler) -> str:
    return handler.base_url + "login?next=" + url_escape(handler.request.uri)
