"""The REST routes of the server extension, on a real jupyter_server (pytest-jupyter's ``jp_fetch``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from helpers.store_corpus import malformed_corpus
from jupyter_metahpo.store import ExperienceStore
from jupyter_metahpo.store.exchange import export_payload


API = ("metahpo", "api")


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of the store folder, byte for byte (the caches included)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


async def _json(jp_fetch, *parts, **kwargs):
    reply = await jp_fetch(*API, *parts, **kwargs)
    return reply.code, json.loads(reply.body)


async def _error(jp_fetch, *parts, **kwargs) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*API, *parts, **kwargs)
    body = caught.value.response.body
    try:
        return caught.value.code, json.loads(body) if body else {}
    except ValueError:
        return caught.value.code, {"raw": body.decode("utf-8", "replace")}


# Listing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("jp_base_url", ["/", "/user/ana%40example.org/"])
async def test_the_list_answers_under_any_base_url(jp_fetch, jp_base_url, store, add_study):
    sid = add_study(store, "credit-hgb", [0.5, 0.3, None, 0.4])
    code, body = await _json(jp_fetch, "studies")
    assert code == 200 and body["total"] == 1
    row = body["studies"][0]
    assert {k: row[k] for k in ("id", "name", "task", "status", "direction", "n_trials", "n_complete", "best_value")} == {
        "id": sid, "name": "credit-hgb", "task": "credit", "status": "finished", "direction": "minimize",
        "n_trials": 4, "n_complete": 3, "best_value": 0.3,
    }  # fmt: skip
    assert row["started_at"] <= row["updated_at"]
    assert row["sparkline"] == [0.5, 0.3]  # the best so far, at each improvement


async def test_the_list_searches_sorts_and_pages(jp_fetch, store, add_study):
    for i, best in enumerate([0.9, 0.2, 0.5, 0.7, 0.1]):
        add_study(store, f"study-{i}", [best + 0.05, best], task="credit" if i % 2 else "iris", start=1000.0 + i)
    add_study(store, "running-one", [0.3], finish=None)
    _, everything = await _json(jp_fetch, "studies", params={"sort": "best_value", "order": "asc"})
    assert [r["best_value"] for r in everything["studies"]] == sorted(r["best_value"] for r in everything["studies"])
    assert everything["total"] == 6
    pages = []
    for offset in (0, 2, 4):
        _, page = await _json(jp_fetch, "studies", params={"sort": "name", "offset": offset, "limit": 2})
        assert page["total"] == 6
        pages += [r["name"] for r in page["studies"]]
    assert pages == sorted(pages) and len(set(pages)) == 6  # pages cover every study once
    _, iris = await _json(jp_fetch, "studies", params={"q": "IRIS"})
    assert sorted(r["name"] for r in iris["studies"]) == ["study-0", "study-2", "study-4"]
    _, running = await _json(jp_fetch, "studies", params={"status": "running"})
    assert [r["name"] for r in running["studies"]] == ["running-one"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"sort": "password"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"status": "exploded"}, "status"),
        ({"store": "/etc"}, "unknown argument"),  # the store path is the server's, never the client's
        ({"id": "../index"}, "not a study id"),
    ],
)
async def test_bad_list_arguments_are_400_naming_the_argument(jp_fetch, store, params, named, add_study):
    code, body = await _error(jp_fetch, "studies", params=params)
    assert code == 400
    assert named in body["message"]


# One study ----------------------------------------------------------------------------------


async def test_a_study_page_has_trials_origins_and_the_best_so_far(jp_fetch, store, add_study):
    sid = add_study(store, "credit-hgb", [0.5, 0.6, None, 0.2, 0.3], direction="minimize")
    code, body = await _json(jp_fetch, "studies", sid)
    assert code == 200
    assert [t["number"] for t in body["trials"]] == [1, 2, 3, 4, 5]
    assert body["trials"][2]["state"] == "failed" and "boom" in body["trials"][2]["error"]
    assert [p[:2] for p in body["best_so_far"]] == [[1, 0.5], [4, 0.2]]
    origins = {g["source"]: g for g in body["origins"]}
    assert origins["warm-start"]["count"] == 2 and origins["gp"]["count"] == 3
    assert origins["warm-start"]["reasons"] == [{"reason": "best config of the nearest task", "count": 2}]
    assert body["best"] == {"number": 4, "value": 0.2, "config": {"lr": 0.01, "depth": 4, "kind": "b"}}
    assert body["study"]["space"]["depth"] == {"type": "intrange", "low": 1, "high": 8, "log": False}
    assert body["resume_cell"].startswith("%%metatune --name credit-hgb --resume\n")


async def test_the_export_is_a_download_that_imports_back(jp_fetch, store, tmp_path, add_study):
    sid = add_study(store, "credit hgb", [0.5, 0.2])
    reply = await jp_fetch(*API, "studies", sid, "export")
    assert reply.code == 200
    assert reply.headers["Content-Disposition"] == f'attachment; filename="metahpo-credit-hgb-{sid}.json"'
    payload = json.loads(reply.body)
    assert [s["id"] for s in payload["studies"]] == [sid]
    other = ExperienceStore(tmp_path / "other")
    report = other.import_json(_write(tmp_path / "x.json", reply.body))
    assert report.trials_added == 2


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# Ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["..", "a b", "x" * 65, "a.b", "%2e%2e", "ünï"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_malformed_ids_are_refused_with_400(jp_fetch, store, bad, method, add_study):
    add_study(store, "kept", [0.1])
    before = _snapshot(store.path)
    code, body = await _error(jp_fetch, "studies", bad, method=method)
    assert code in (400, 404), body  # Tornado itself answers 404 for a path that normalises away
    if code == 400:
        assert "is not a study id" in body["message"]
    assert _snapshot(store.path) == before


async def test_an_id_prefix_or_unknown_id_is_404_and_forgets_nothing(jp_fetch, store, add_study):
    sid = add_study(store, "kept", [0.1])
    before = _snapshot(store.path)
    for key in (sid[:6], "0" * 16):
        for method, parts in (("GET", (key,)), ("DELETE", (key,)), ("GET", (key, "export"))):
            code, body = await _error(jp_fetch, "studies", *parts, method=method)
            assert code == 404 and key in body["message"]
    assert _snapshot(store.path) == before


async def test_forget_removes_the_study(jp_fetch, store, add_study):
    gone, kept = add_study(store, "gone", [0.1]), add_study(store, "kept", [0.2])
    code, body = await _json(jp_fetch, "studies", gone, method="DELETE")
    assert code == 200 and body["forgotten"] == gone
    _, listing = await _json(jp_fetch, "studies")
    assert [r["id"] for r in listing["studies"]] == [kept]
    assert (await _error(jp_fetch, "studies", gone))[0] == 404


# Import ------------------------------------------------------------------------------------


async def test_an_import_adds_its_studies_and_a_second_import_adds_nothing(jp_fetch, store, tmp_path, add_study):
    source = ExperienceStore(tmp_path / "colleague")
    sid = add_study(source, "theirs", [0.4, 0.3, 0.2])
    data = json.dumps(export_payload(source, None)).encode()
    code, body = await _json(jp_fetch, "import", method="POST", body=data, params={"filename": "theirs.json"})
    assert code == 201 and body["studies_added"] == 1 and body["trials_added"] == 3 and body["study_ids"] == [sid]
    code, again = await _json(jp_fetch, "import", method="POST", body=data)
    assert code == 201 and again["trials_added"] == 0 and again["studies_added"] == 0
    assert [s.id for s in store.studies()] == [sid]


async def test_malformed_uploads_are_refused_with_locations_and_the_store_unchanged(jp_fetch, store, tmp_path, add_study):
    add_study(store, "mine", [0.5])
    source = ExperienceStore(tmp_path / "colleague")
    add_study(source, "theirs", [0.4, 0.3, 0.2])
    payload = export_payload(source, None)
    before = _snapshot(store.path)
    cases = malformed_corpus(payload)
    assert len(cases) >= 10
    for label, data, expected in cases:
        if not data:
            code, body = await _error(jp_fetch, "import", method="POST", body=data, allow_nonstandard_methods=True)
            assert code == 400 and "no body" in body["message"], label
            continue
        code, body = await _error(jp_fetch, "import", method="POST", body=data)
        assert code == 400, (label, body)
        assert "nothing was written" in body["message"], label
        assert any(expected in problem for problem in body["problems"]), (label, body["problems"][:3])
        assert _snapshot(store.path) == before, label


async def test_an_upload_over_the_configured_size_is_413(jp_fetch, jp_web_app, store, add_study):
    jp_web_app.settings["metahpo_service"].config.max_upload_bytes = 100  # c.MetaHPOServer.max_upload_bytes
    before = _snapshot(store.path)
    code, body = await _error(jp_fetch, "import", method="POST", body=b"{" + b" " * 200 + b"}")
    assert code == 413 and "max_upload_bytes" in body["message"]
    assert _snapshot(store.path) == before


# Authentication and XSRF ------------------------------------------------------------------------

_ROUTES = [
    ("GET", ("settings",)),
    ("GET", ("studies",)),
    ("GET", ("studies", "0123456789abcdef")),
    ("GET", ("studies", "0123456789abcdef", "export")),
    ("DELETE", ("studies", "0123456789abcdef")),
    ("POST", ("import",)),
]


@pytest.mark.parametrize(("method", "parts"), _ROUTES, ids=["-".join((m, *p)) for m, p in _ROUTES])
async def test_every_route_refuses_a_request_without_a_token(jp_fetch, store, method, parts, add_study):
    sid = add_study(store, "kept", [0.1])
    parts = tuple(sid if p == "0123456789abcdef" else p for p in parts)
    before = _snapshot(store.path)
    body = b"{}" if method == "POST" else None
    code, _ = await _error(jp_fetch, *parts, method=method, body=body, headers={"Authorization": ""})
    assert code in (401, 403)
    assert _snapshot(store.path) == before


async def _login_cookies(jp_fetch, jp_serverapp) -> str:
    """Log in as a browser does (the token once in a URL): the cookies it gets back, as one header."""
    token = jp_serverapp.identity_provider.token
    reply = await jp_fetch(*API, "settings", params={"token": token}, headers={"Authorization": ""})
    cookies = {}
    for line in reply.headers.get_list("Set-Cookie"):
        name, _, rest = line.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    assert any(name.startswith("username-") for name in cookies), reply.headers.get_list("Set-Cookie")
    return cookies


async def test_writes_with_a_login_cookie_need_the_xsrf_token(jp_fetch, jp_serverapp, store, add_study):
    sid = add_study(store, "kept", [0.1])
    cookies = await _login_cookies(jp_fetch, jp_serverapp)
    login = {k: v for k, v in cookies.items() if k.startswith("username-")}
    cookie_header = "; ".join(f"{k}={v}" for k, v in login.items())
    # Reading with the cookie alone works: the cookie is a login.
    reply = await jp_fetch(*API, "studies", headers={"Authorization": "", "Cookie": cookie_header})
    assert reply.code == 200
    before = _snapshot(store.path)
    # Writing with the cookie alone does not: no XSRF token, so a page on another site cannot forget a study.
    for method, parts, body in (("DELETE", ("studies", sid), None), ("POST", ("import",), b"{}")):
        code, _ = await _error(jp_fetch, *parts, method=method, body=body,
                               headers={"Authorization": "", "Cookie": cookie_header})  # fmt: skip
        assert code == 403, method
    assert _snapshot(store.path) == before
    # With the _xsrf cookie and its header, as JupyterLab sends them, the same DELETE works.
    xsrf = "metahpo-test-xsrf-value"
    headers = {"Authorization": "", "Cookie": f"{cookie_header}; _xsrf={xsrf}", "X-XSRFToken": xsrf}
    reply = await jp_fetch(*API, "studies", sid, method="DELETE", headers=headers)
    assert reply.code == 200
    assert store.studies() == ()
