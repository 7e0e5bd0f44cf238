"""The server on a PostgreSQL store (a real server on loopback, started by the tests):
the same routes, share links and change feed as on SQLite."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from test_events import TERMINAL, _subscribe


@pytest.fixture
def jp_server_config(postgres):
    return {
        "ServerApp": {"jpserver_extensions": {"notebook_executor": True}},
        "NotebookExecutor": {"store_url": postgres.new_database(), "events_interval": 0.1},
    }


async def test_executions_shares_schedules_and_events_on_postgres(api, jp_ws_fetch, http_server_client):
    events = await _subscribe(jp_ws_fetch)
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": {"alpha": 8}}, expect=201)
    await events.until(lambda ev: any(x["id"] == e["id"] and x["state"] in TERMINAL for x in ev["executions"]))
    assert (await api.ok("GET", "executions", e["id"]))["state"] == "SUCCEEDED"
    link = await api.ok("POST", "executions", e["id"], "share", expect=201)
    page = await http_server_client.fetch(urlparse(link["url"]).path, raise_error=False)
    assert page.code == 200 and b"alpha=8" in page.body
    await api.ok("DELETE", "executions", e["id"], "shares", link["id"], expect=204)
    assert (await http_server_client.fetch(urlparse(link["url"]).path, raise_error=False)).code == 404
    s = await api.ok("POST", "schedules", body={"cron_schedule": "0 9 * * *",
                                                "execution_template": {"input_notebook": "quick.ipynb"}}, expect=201)
    await events.until(lambda ev: any(x["id"] == s["id"] for x in ev["schedules"]), timeout=5)
    run = await api.ok("POST", "schedules", s["id"], "run", expect=201)
    assert (await api.wait_done(run["id"]))["state"] == "SUCCEEDED"
