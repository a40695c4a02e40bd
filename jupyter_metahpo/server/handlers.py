"""The REST routes under ``{base_url}metahpo/api/``: thin handlers over ``StoreService``.

Every verb is ``@tornado.web.authenticated`` and ``@authorized`` (token or login cookie;
jupyter_server's ``APIHandler`` checks XSRF on POST and DELETE when the request is
authenticated by cookie). A handler parses the request, calls the service on its worker
thread and writes JSON; errors are JSON too: ``{"message": ...}``, plus ``"problems"``
(each with its location) for an import that failed validation.

    GET    metahpo/api/settings                store folder, poll interval, version
    GET    metahpo/api/studies                 ?q=&status=&sort=&order=&offset=&limit=&id=&sparkline=
    GET    metahpo/api/studies/{id}            trials, origins and reasons, best-so-far series
    GET    metahpo/api/studies/{id}/export     the study's export file (a download)
    DELETE metahpo/api/studies/{id}            forget the study
    POST   metahpo/api/import                  an export file as the body (?filename= for messages)
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..store import ImportValidationError, StoreError
from . import views
from .service import StoreService

__all__ = ["route_table", "API_PREFIX"]

API_PREFIX = "metahpo/api"
#: The longest file name echoed back in messages.
_FILENAME_CHARS = 120


class _Base(APIHandler):
    """Shared by every route: the service, JSON replies, and errors as JSON with a clear message."""

    auth_resource = "metahpo"

    def initialize(self, service: StoreService) -> None:
        self.service = service

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body, allow_nan=False))

    def fail(self, status: int, message: str, **extra: Any) -> None:
        self.reply({"message": message, **extra}, status)

    async def run(self, function: Any, *args: Any) -> Any:
        """Call the service; the expected failures become 400/404/409 with the store's own message."""
        try:
            return await self.service.call(function, *args)
        except views.BadRequest as problem:
            self.fail(400, str(problem))
        except views.UnknownStudy as missing:
            self.fail(404, str(missing))
        except ImportValidationError as invalid:
            self.fail(400, f"the file was not imported: {len(invalid.problems)} problem(s); nothing was written.",
                      problems=list(invalid.problems))  # fmt: skip
        except StoreError as error:  # a locked, unwritable or newer store: the message says what to do
            self.fail(409, str(error))
        return _FAILED


_FAILED = object()


class SettingsHandler(_Base):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        result = await self.run(self.service.settings)
        if result is not _FAILED:
            self.reply(result)


class StudiesHandler(_Base):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        arguments = {k: [v.decode("utf-8", "replace") for v in vs] for k, vs in self.request.query_arguments.items()}
        try:
            query = views.ListQuery.parse(arguments)
        except views.BadRequest as problem:
            return self.fail(400, str(problem))
        result = await self.run(self.service.list_studies, query)
        if result is not _FAILED:
            self.reply(result)


class StudyHandler(_Base):
    @web.authenticated
    @authorized
    async def get(self, study_id: str) -> None:
        result = await self.run(self.service.study, study_id)
        if result is not _FAILED:
            self.reply(result)

    @web.authenticated
    @authorized
    async def delete(self, study_id: str) -> None:
        result = await self.run(self.service.forget, study_id)
        if result is not _FAILED:
            self.reply(result)


class ExportHandler(_Base):
    @web.authenticated
    @authorized
    async def get(self, study_id: str) -> None:
        result = await self.run(self.service.export, study_id)
        if result is _FAILED:
            return
        filename, data = result
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.set_header("Cache-Control", "no-store")
        self.finish(data)


class ImportHandler(_Base):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        limit = self.service.config.max_upload_bytes
        body = self.request.body
        if len(body) > limit:
            return self.fail(413, f"the file is {len(body)} bytes; this server accepts at most {limit} "
                                  "(c.MetaHPOServer.max_upload_bytes). Use `metahpo import FILE` for larger files.")
        if not body:
            return self.fail(400, "the request has no body: send the export file's content as the body.")
        name = (self.get_query_argument("filename", "upload.json") or "upload.json")[:_FILENAME_CHARS]
        result = await self.run(self.service.import_bytes, body, name)
        if result is not _FAILED:
            self.reply(result, 201)


def route_table(base_url: str, service: StoreService) -> list[tuple[str, type, dict[str, Any]]]:
    """The routes under ``base_url`` (a study id is any path segment: the service validates it)."""
    prefix = url_path_join(base_url, API_PREFIX)
    options = {"service": service}
    return [
        (url_path_join(prefix, "settings"), SettingsHandler, options),
        (url_path_join(prefix, "studies"), StudiesHandler, options),
        (url_path_join(prefix, "studies", "([^/]+)", "export"), ExportHandler, options),
        (url_path_join(prefix, "studies", "([^/]+)"), StudyHandler, options),
        (url_path_join(prefix, "import"), ImportHandler, options),
    ]
