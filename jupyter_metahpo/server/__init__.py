"""The jupyter_server extension behind the JupyterLab panel: the experience store over REST.

Enabled on install (``jupyter-config/server-config/jupyter_metahpo.json``); ``jupyter
server extension list`` shows it. Its routes (``handlers.py``) read the store, import
into it and forget from it, nothing else; the store's folder is the server's setting
(``c.MetaHPOServer.store_path``), never the client's.
"""

from __future__ import annotations

from typing import Any

from .handlers import API_PREFIX, route_table
from .service import MetaHPOServer, StoreService

__all__ = ["MetaHPOServer", "StoreService", "API_PREFIX"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_metahpo.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    config = MetaHPOServer(parent=server_app)
    service = StoreService(config)
    web_app = server_app.web_app
    web_app.add_handlers(".*$", route_table(web_app.settings["base_url"], service))
    web_app.settings["metahpo_service"] = service
    server_app.log.info("jupyter_metahpo: the experience store panel reads %s", service.path)
