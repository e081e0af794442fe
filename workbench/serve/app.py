"""The Voila application behind ``workbench serve``.

How the signed-in user reaches the kernel
-----------------------------------------
Every page render goes through :class:`WorkbenchPageHandler` (Voila's render handler behind
``@web.authenticated``). Before Voila renders anything it checks that the user's role may open
the app (403 otherwise) and that the user holds fewer than ``max_kernels_per_user`` kernels
(429), and records (user, role, authority) in a context variable for the rest of the request
(the same asyncio task). Two ways a page gets its kernel:

- **A preheated kernel** (``--pool-size``, default 1 per app): Voila keeps kernels that have
  already run the notebook up to its first wait for the request; the app's slow start-up
  (imports, the ledger, models) is done before anybody asks. Voila hands the request to such a
  kernel through :meth:`RequestInfoSocketHandler.send_updates`; ours (:func:`_send_request_info`)
  adds ``WORKBENCH_USER``, ``WORKBENCH_ROLE`` and ``WORKBENCH_AUTHORITY`` from the context
  variable and records the kernel's owner. In the kernel, ``voila.utils.wait_for_request`` puts
  the payload in the environment; :func:`workbench.serve.current_user` waits for it.
  A pool kernel is started without a user and cannot act for anyone before it is handed out.
- **A new kernel** when the pool is empty: :class:`WorkbenchKernelManager.start_kernel` reads the
  context variable and puts the three variables in the new kernel's environment. A kernel
  started without that context and not for the pool is refused.

Voila 0.5 refuses ``preheat_kernel`` together with ``prelaunch_hook`` (``voila/app.py``,
``init_settings``), so the authorisation is in the handler, not in a prelaunch hook.
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
from voila.request_info_handler import RequestInfoSocketHandler
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
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


USER_VARIABLES = ("WORKBENCH_USER", "WORKBENCH_ROLE", "WORKBENCH_AUTHORITY")


def authorise_page(req) -> tuple[str, str, str]:
    """The page's (user, role, authority) after checking the role may open the app (403) and
    the user's kernels are below the bound (429); kept for the request in a context variable."""
    user = req.current_user
    if user is None:  # @web.authenticated runs first; this is a second lock
        raise web.HTTPError(401)
    provider = req.identity_provider
    role = provider.role_of(user.username)
    app = _app_of_request(req)
    if role is None or not role.may_open(app):
        req.log.warning("Refused %s (role %s) the app %s", user.username, role and role.name, app)
        raise web.HTTPError(403, "Your role may not open this app.")
    km = req.kernel_manager
    bound = getattr(km, "max_kernels_per_user", None)
    if bound is not None and len(km.kernels_of(user.username)) >= bound:
        raise web.HTTPError(429, f"You already have {bound} pages open: close one and reload.")
    page_user = (user.username, role.name, role.authority)
    _PAGE_USER.set(page_user)
    return page_user


class WorkbenchPageHandler(TornadoVoilaHandler):
    """Voila's page handler, authorising the page first (:func:`authorise_page`)."""

    @web.authenticated
    async def get(self, path=None):
        authorise_page(self)
        await super().get(path)


_MANAGER = None   # the server's kernel manager (one per process), for _send_request_info


def _send_request_info(cls, msg):
    """Voila's hand-over of a request to a preheated kernel, with the signed-in user added and
    the kernel's owner recorded. Without a signed-in page request, nothing is handed over."""
    page_user = _PAGE_USER.get()
    if page_user is None:
        raise web.HTTPError(403, "A kernel is handed out only for a signed-in page.")
    kernel_id = msg["kernel_id"]
    payload = {k: v for k, v in msg["payload"].items() if k not in USER_VARIABLES}
    payload.update(zip(USER_VARIABLES, page_user))
    if _MANAGER is not None:
        _MANAGER.kernel_owner[kernel_id] = page_user[0]
    return _ORIGINAL_SEND(cls, {"kernel_id": kernel_id, "payload": payload})


_ORIGINAL_SEND = RequestInfoSocketHandler.send_updates.__func__


class WorkbenchKernelManager(AsyncMappingKernelManager):
    """Kernels carry their user in the environment; at most ``max_kernels_per_user`` each."""

    max_kernels_per_user = Int(3, config=True, help="Open pages (kernels) one user may hold at once.")

    def __init__(self, **kwargs):
        global _MANAGER
        self.kernel_owner: dict[str, str] = {}
        super().__init__(**kwargs)   # (Voila's pool subclass starts pool kernels in here)
        _MANAGER = self

    def kernels_of(self, username: str) -> list[str]:
        live = set(self.list_kernel_ids())
        return [k for k, owner in self.kernel_owner.items() if owner == username and k in live]

    async def start_kernel(self, *, kernel_id=None, path=None, env=None, **kwargs):
        page_user = _PAGE_USER.get()
        env = dict(env or os.environ)
        for name in list(env):
            if name.startswith("WORKBENCH_USER") or name in USER_VARIABLES:
                env.pop(name)
        pool = env.get("VOILA_PREHEAT") == "True"
        if page_user is None and not pool:
            raise web.HTTPError(403, "A kernel is started only for a signed-in page.")
        if not pool:   # a page's own kernel: its user in the environment
            env.update(zip(USER_VARIABLES, page_user))
        kernel_id = await super().start_kernel(kernel_id=kernel_id, path=path, env=env, **kwargs)
        if not pool:
            self.kernel_owner[kernel_id] = page_user[0]
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
        # preheated kernels get their user with the request Voila hands over (module doc)
        RequestInfoSocketHandler.send_updates = classmethod(_send_request_info)
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
            if handler is TornadoVoilaHandler:
                spec = (pattern, WorkbenchPageHandler, *spec[2:])
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
                 session_hours: float = 12.0, pool_size: int = 1) -> Config:
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
    c.VoilaConfiguration.allow_template_override = "NO"  # ?template= cannot swap the page template
    c.VoilaConfiguration.allow_theme_override = "NO"
    c.VoilaConfiguration.file_allowlist = []  # /voila/files/ is not authenticated in Voila 0.5
    # preheated kernels (module doc); authorisation is in WorkbenchPageHandler, not a prelaunch hook
    c.VoilaConfiguration.preheat_kernel = pool_size > 0
    c.VoilaConfiguration.default_pool_size = max(pool_size, 0)
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
