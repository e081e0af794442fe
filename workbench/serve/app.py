"""The Voila application behind ``workbench serve``.

How the signed-in user reaches the kernel
-----------------------------------------
Voila calls ``VoilaConfiguration.prelaunch_hook(req, notebook, cwd)`` for every page render after
``@web.authenticated`` has accepted the request and before it starts the page's kernel, in the
same asyncio task. :func:`prelaunch_hook` checks that the user's role may open the app (403
otherwise) and records (user, role, authority) in a context variable; the kernel manager,
:class:`WorkbenchKernelManager`, reads it in ``start_kernel`` and adds ``WORKBENCH_USER``,
``WORKBENCH_ROLE`` and ``WORKBENCH_AUTHORITY`` to the kernel's environment. A kernel started
without that context is refused. The notebook is not modified.

Preheated kernels are not used: Voila 0.5 refuses to start with both ``preheat_kernel`` and
``prelaunch_hook`` (``voila/app.py``, ``init_settings``), and a preheated kernel runs the notebook
before anyone has signed in, so it could not know the user.
"""

from __future__ import annotations

import contextvars
import os
import secrets
from pathlib import Path
from urllib.parse import unquote

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Int
from traitlets.config import Config
from voila.app import Voila
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from . import accounts
from .identity import WorkbenchIdentityProvider, render

# (username, role, authority) of the request that is rendering a page, for start_kernel
_PAGE_USER: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar(
    "workbench_page_user", default=None
)
RENDER_PREFIX = "voila/render/"
# the page template: Voila's lab template without the Font Awesome CDN links (no request
# leaves the machine)
TEMPLATE_DIR = Path(__file__).with_name("voila_template")


def _app_of_request(handler) -> str:
    path = unquote(handler.request.path)
    prefix = handler.base_url + RENDER_PREFIX
    return path[len(prefix):] if path.startswith(prefix) else path.rsplit("/", 1)[-1]


def prelaunch_hook(req, notebook, cwd):
    """Voila's prelaunch hook: authorise the app for the user's role, hand the user to the kernel."""
    user = req.current_user
    if user is None:  # @web.authenticated runs first; this is a second lock
        raise web.HTTPError(401)
    provider = req.identity_provider
    role = provider.role_of(user.username)
    app = _app_of_request(req)
    if role is None or not role.may_open(app):
        req.log.warning("Refused %s (role %s) the app %s", user.username, role and role.name, app)
        raise web.HTTPError(403, "Your role may not open this app.")
    _PAGE_USER.set((user.username, role.name, role.authority))
    return None  # the notebook is not changed


class WorkbenchKernelManager(AsyncMappingKernelManager):
    """Kernels carry their user in the environment; at most ``max_kernels_per_user`` each."""

    max_kernels_per_user = Int(3, config=True, help="Open pages (kernels) one user may hold at once.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kernel_owner: dict[str, str] = {}

    def kernels_of(self, username: str) -> list[str]:
        live = set(self.list_kernel_ids())
        return [k for k, owner in self.kernel_owner.items() if owner == username and k in live]

    async def start_kernel(self, *, kernel_id=None, path=None, env=None, **kwargs):
        page_user = _PAGE_USER.get()
        if page_user is None:
            raise web.HTTPError(403, "A kernel is started only for a signed-in page.")
        username, role, authority = page_user
        if len(self.kernels_of(username)) >= self.max_kernels_per_user:
            raise web.HTTPError(
                429, f"You already have {self.max_kernels_per_user} pages open: close one and reload."
            )
        env = dict(env or os.environ)
        for name in list(env):
            if name.startswith("WORKBENCH_USER") or name in ("WORKBENCH_ROLE", "WORKBENCH_AUTHORITY"):
                env.pop(name)
        env.update(WORKBENCH_USER=username, WORKBENCH_ROLE=role, WORKBENCH_AUTHORITY=authority)
        kernel_id = await super().start_kernel(kernel_id=kernel_id, path=path, env=env, **kwargs)
        self.kernel_owner[kernel_id] = username
        return kernel_id

    async def shutdown_kernel(self, kernel_id, now=False, restart=False):
        await super().shutdown_kernel(kernel_id, now=now, restart=restart)
        self.kernel_owner.pop(kernel_id, None)


class OwnKernelWebsocketHandler(VoilaKernelWebsocketHandler):
    """A page's kernel websocket opens only for the user whose page started that kernel."""

    async def pre_get(self):
        # get() is wrapped in ws_authenticated, so current_user is set; check ownership first
        owner = getattr(self.kernel_manager, "kernel_owner", {}).get(self.kernel_id)
        if self.current_user is None or owner is None or owner != self.current_user.username:
            raise web.HTTPError(403)
        await super().pre_get()


class LandingHandler(JupyterHandler):
    """``/``: the apps the signed-in user's role may open (replaces Voila's directory tree)."""

    @web.authenticated
    def get(self, path=None):
        provider = self.identity_provider
        role = provider.role_of(self.current_user.username)
        root = Path(self.settings["workbench_apps_dir"])
        apps = []
        for nb in sorted(root.glob("*.ipynb")):
            if role is not None and role.may_open(nb.name):
                apps.append({"file": nb.name, "title": nb.stem.replace("_", " ").capitalize()})
        self.set_header("Cache-Control", "no-store")
        self.write(render(self, "landing.html", username=self.current_user.username,
                          role=role.name if role else "-", authority=role.authority if role else "-",
                          apps=apps))


class WorkbenchVoila(Voila):
    """Voila with the landing page, owner-only kernel websockets and no contents listing."""

    def setup_template_dirs(self):
        """Voila's lab template, with :data:`TEMPLATE_DIR` (no CDN links) searched first."""
        super().setup_template_dirs()
        self.template_paths = [str(TEMPLATE_DIR), *self.template_paths]

    def init_settings(self):
        settings = super().init_settings()
        settings["workbench_apps_dir"] = self.root_dir
        settings["serve_traceback"] = False
        return settings

    def init_handlers(self):
        handlers = []
        for spec in super().init_handlers():
            pattern, handler = spec[0], spec[1]
            if handler is TornadoVoilaTreeHandler:
                if pattern.rstrip("/") == self.server_url.rstrip("/"):
                    handlers.append((pattern, LandingHandler))
                continue  # /voila/tree/...: no directory browsing
            if handler is VoilaContentsHandler:
                continue
            if handler is VoilaKernelWebsocketHandler:
                spec = (pattern, OwnKernelWebsocketHandler, *spec[2:])
            handlers.append(spec)
        return handlers


def session_secret(users_file: Path) -> bytes:
    """The cookie-signing secret: ``session_secret`` next to the users file, made on first use (0600).

    Deleting it signs everybody out.
    """
    path = Path(os.environ.get("WORKBENCH_SESSION_SECRET_FILE") or Path(users_file).with_name("session_secret"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def build_config(*, apps_dir: Path, users_file: Path, roles_file: Path | None, ip: str, port: int,
                 cull_idle_timeout: int = 900, cull_interval: int = 60, max_kernels_per_user: int = 3,
                 session_hours: float = 12.0) -> Config:
    c = Config()
    c.Voila.ip = ip
    c.Voila.port = port
    c.Voila.port_retries = 0
    c.Voila.open_browser = False
    c.Voila.root_dir = str(apps_dir)
    c.Voila.config_file_paths = []  # no stray voila.json may loosen these settings
    c.Voila.identity_provider_class = WorkbenchIdentityProvider
    c.Voila.cookie_secret = session_secret(users_file)
    c.WorkbenchIdentityProvider.users_file = str(users_file)
    c.WorkbenchIdentityProvider.roles_file = str(roles_file or "")
    c.WorkbenchIdentityProvider.session_hours = session_hours
    c.VoilaConfiguration.strip_sources = True
    c.VoilaConfiguration.show_tracebacks = False
    c.VoilaConfiguration.file_allowlist = []  # /voila/files/ is not authenticated in Voila 0.5
    c.VoilaConfiguration.preheat_kernel = False  # incompatible with prelaunch_hook (see module doc)
    c.VoilaConfiguration.prelaunch_hook = prelaunch_hook
    c.VoilaConfiguration.multi_kernel_manager_class = WorkbenchKernelManager
    c.MappingKernelManager.cull_idle_timeout = cull_idle_timeout
    c.MappingKernelManager.cull_interval = cull_interval
    c.MappingKernelManager.cull_connected = True  # an open but idle tab is culled too
    c.WorkbenchKernelManager.max_kernels_per_user = max_kernels_per_user
    return c


def serve(**kwargs) -> int:
    apps_dir = Path(kwargs["apps_dir"]).resolve()
    if not apps_dir.is_dir():
        raise SystemExit(f"apps folder not found: {apps_dir}")
    accounts.load_roles(kwargs.get("roles_file"))  # clear error before the server starts
    config = build_config(**kwargs)
    app = WorkbenchVoila(config=config)
    app.initialize(argv=[str(apps_dir)])
    app.start()
    return 0
