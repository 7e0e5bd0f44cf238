"""Executions over REST against a real server and real kernels: submit, list, get,
result page, notebook download, import, cancel, delete, and their errors."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from urllib.parse import urlparse

import nbformat
import pytest


async def test_submit_runs_with_parameters_and_shows_relative_path(api, root):
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": {"alpha": 5},
                                                 "display_name": "five"}, expect=201)
    assert e["input_notebook"] == "params.ipynb" and e["display_name"] == "five" and e["backend"] == "local"
    done = await api.wait_done(e["id"])
    assert done["state"] == "SUCCEEDED", done
    assert done["progress"]["cells_done"] == done["progress"]["cells_total"] > 0
    nb = nbformat.reads(json.dumps(json.loads(
        (await api("GET", "executions", e["id"], "notebook"))[1])), as_version=4)
    assert "alpha=5" in "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


async def test_parameters_as_the_dialogs_text(api):
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb",
                                                 "parameters": 'alpha=3,beta="a,b=c"'}, expect=201)
    assert e["parameters"] == {"alpha": 3, "beta": "a,b=c"}
    code, err = await api("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": "alpha=\"x"})
    assert code == 400 and err["error"]["code"] == "invalid_parameters"


async def test_a_string_that_does_not_convert_is_a_warning_in_the_record(api):
    """As papermill, the string reaches the notebook; the dialog shows the record's warning."""
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb",
                                                 "parameters": 'alpha="It works"'}, expect=201)
    assert e["state"] == "QUEUED"
    assert e["state_message"].startswith('parameter alpha: "It works" does not convert to int')
    done = await api.wait_done(e["id"])
    assert done["state"] == "SUCCEEDED" and done["state_message"] == e["state_message"]


async def test_list_pages_filters_and_get(api):
    ids = [(await api.ok("POST", "executions", body={"input_notebook": "quick.ipynb"}, expect=201))["id"] for _ in range(3)]
    first = await api.ok("GET", "executions", params={"page_size": "2"})
    assert [e["id"] for e in first["executions"]] == ids[::-1][:2] and first["next_page_token"]
    second = await api.ok("GET", "executions", params={"page_size": "2", "page_token": first["next_page_token"]})
    assert [e["id"] for e in second["executions"]] == ids[:1] and second["next_page_token"] is None
    for id in ids:
        await api.wait_done(id)
    succeeded = await api.ok("GET", "executions", params={"state": "SUCCEEDED"})
    assert {e["id"] for e in succeeded["executions"]} == set(ids)
    assert (await api.ok("GET", "executions", params={"state": "FAILED"}))["executions"] == []
    assert (await api.ok("GET", "executions", ids[0]))["id"] == ids[0]


async def test_bad_submissions_are_400_with_a_message(api, root):
    (root / "notes.txt").write_text("not a notebook")
    cases = [
        ({}, "bad_request", "input_notebook"),
        ({"input_notebook": "missing.ipynb"}, "bad_request", "missing.ipynb"),
        ({"input_notebook": "notes.txt"}, "invalid_notebook", ""),
        ({"input_notebook": "quick.ipynb", "colour": "red"}, "bad_request", "colour"),
        ({"input_notebook": "quick.ipynb", "backend": "mainframe"}, "invalid_argument", "mainframe"),
        ({"input_notebook": "quick.ipynb", "kernel_name": "cobol"}, "kernel_not_found", "cobol"),
        ({"input_notebook": "quick.ipynb", "timeout_seconds": "soon"}, "invalid_argument", ""),
        ({"input_notebook": "quick.ipynb", "parameters": [1, 2]}, "bad_request", "parameters"),
        ({"input_notebook": "quick.ipynb", "schedule_id": "x"}, "bad_request", "schedule_id"),
    ]
    for body, code, needle in cases:
        status, err = await api("POST", "executions", body=body)
        assert status == 400 and err["error"]["code"] == code and needle in err["error"]["message"], (body, status, err)
    for raw in (b"{not json", b"[1, 2]", b'"text"'):
        status, err = await api("POST", "executions", raw=raw)
        assert status == 400 and err["error"]["code"] == "bad_request", (raw, err)
    assert (await api.ok("GET", "executions"))["executions"] == []  # nothing half-written


async def test_bad_queries_are_400(api):
    for params in ({"page_size": "0"}, {"page_size": "x"}, {"page_size": "5000"}, {"state": "DONE"},
                   {"page_token": "bogus"}):
        status, err = await api("GET", "executions", params=params)
        assert status == 400 and err["error"]["message"], (params, err)


async def test_unknown_ids_are_404(api):
    for method, path in [("GET", ("executions", "nope")), ("DELETE", ("executions", "nope")),
                         ("POST", ("executions", "nope", "cancel")), ("GET", ("executions", "nope", "result")),
                         ("GET", ("executions", "nope", "notebook")), ("POST", ("executions", "nope", "import")),
                         ("POST", ("executions", "nope", "share")), ("GET", ("executions", "nope", "shares")),
                         ("DELETE", ("executions", "nope", "shares", "x")), ("GET", ("schedules", "nope")),
                         ("PATCH", ("schedules", "nope")), ("DELETE", ("schedules", "nope")),
                         ("POST", ("schedules", "nope", "run"))]:
        status, err = await api(method, *path, body={} if method in ("POST", "PATCH") else None)
        assert status == 404 and err["error"]["code"] == "not_found", (method, path, err)


async def test_result_page_is_sandboxed_and_shows_outputs(api, jp_fetch):
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": {"alpha": 7}}, expect=201)
    await api.wait_done(e["id"])
    r = await jp_fetch("notebook-executor", "api", "v1", "executions", e["id"], "result")
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "allow-scripts" in csp and "allow-same-origin" not in csp
    assert "Refresh" not in r.headers
    assert b"alpha=7" in r.body


async def test_result_page_header_says_what_ran_and_links_to_the_notebook(api, jp_fetch, http_server_client):
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": {"alpha": 7},
                                                 "display_name": "seven <run>"}, expect=201)
    done = await api.wait_done(e["id"])
    page = (await jp_fetch("notebook-executor", "api", "v1", "executions", e["id"], "result")).body.decode()
    header = page[page.index("<header"):page.index("</header>")]
    assert '<h1 class="nx-name">seven &lt;run&gt;</h1>' in header
    assert 'data-state="SUCCEEDED"' in header and "<code>params.ipynb</code>" in header
    assert "<code>alpha = 7</code>" in header and "<dt>Backend</dt><dd>local</dd>" in header
    assert f'datetime="{done["start_time"]}"' in header and "<dt>Duration</dt><dd>" in header
    assert 'role="alert"' not in header
    # The links are relative to the result route: they resolve to the download and to JupyterLab.
    assert '<a href="notebook" download>' in header
    assert f'href="../../../../../lab?notebook-executor-import={e["id"]}"' in header
    download = await jp_fetch("notebook-executor", "api", "v1", "executions", e["id"], "notebook")
    assert download.headers["Content-Disposition"].startswith("attachment")
    # A share link's page is the same result, without the owner's links.
    link = await api.ok("POST", "executions", e["id"], "share", body={}, expect=201)
    shared = await http_server_client.fetch(urlparse(link["url"]).path, raise_error=False)
    assert shared.code == 200 and b"seven &lt;run&gt;" in shared.body and b"<a href" not in shared.body


async def test_a_run_that_failed_before_any_cell_says_so_at_the_top(api, root, jp_data_dir):
    # A kernel that exits as it starts: the run fails before its first cell, and its page shows the
    # notebook as submitted. It must say that the run failed, and why, above everything else.
    spec = jp_data_dir / "kernels" / "exits-at-start"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import sys; sys.exit(3)", "{connection_file}"],
        "display_name": "Exits at start", "language": "python"}))
    e = await api.ok("POST", "executions", body={"input_notebook": "quick.ipynb", "kernel_name": "exits-at-start"},
                     expect=201)
    done = await api.wait_done(e["id"])
    assert done["state"] == "FAILED" and done["state_message"], done
    page = (await api.fetch("notebook-executor", "api", "v1", "executions", e["id"], "result")).body.decode()
    body = page[page.index("<body>"):]
    alert = re.search(r'<div class="nx-failure" role="alert">This run failed: ([^<]*)</div>', body)
    assert alert, body[:2000]
    assert alert.group(1).strip(), "the page says why"
    assert alert.start() < body.index("nx-name") < body.index("nx-cell")
    assert "print(&#39;hello&#39;)" in body  # the notebook as submitted, under the notice


async def test_running_result_shows_progress_so_far_and_cancel(api, root):
    from helpers import notebook

    notebook(root / "slow.ipynb", "print('first cell done')", "import time; time.sleep(60)")
    e = await api.ok("POST", "executions", body={"input_notebook": "slow.ipynb"}, expect=201)
    for _ in range(300):
        current = await api.ok("GET", "executions", e["id"])
        if current["progress"]["cells_done"] >= 1:
            break
        await asyncio.sleep(0.1)
    assert current["state"] == "RUNNING", current
    r = await api.fetch("notebook-executor", "api", "v1", "executions", e["id"], "result")
    assert b"first cell done" in r.body and b"RUNNING" in r.body and r.headers["Refresh"]
    code, err = await api("DELETE", "executions", e["id"])
    assert code == 409 and err["error"]["code"] == "conflict"
    cancelled = await api.ok("POST", "executions", e["id"], "cancel")
    assert cancelled["state"] in ("CANCELLING", "CANCELLED")
    assert (await api.wait_done(e["id"]))["state"] == "CANCELLED"
    await api.ok("DELETE", "executions", e["id"], expect=204)
    assert (await api("GET", "executions", e["id"]))[0] == 404


@pytest.mark.parametrize("extension_config", [{"concurrency": 1}])
async def test_queued_result_shows_the_submitted_notebook(api, root):
    from helpers import notebook

    notebook(root / "slow.ipynb", "import time; time.sleep(60)")
    slow = await api.ok("POST", "executions", body={"input_notebook": "slow.ipynb"}, expect=201)
    queued = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb"}, expect=201)
    r = await api.fetch("notebook-executor", "api", "v1", "executions", queued["id"], "result")
    assert b"QUEUED" in r.body and b"alpha = 1" in r.body and r.headers["Refresh"]
    code, err = await api("GET", "executions", queued["id"], "notebook")
    assert code == 404 and "no output notebook" in err["error"]["message"]
    for e in (slow, queued):
        await api.ok("POST", "executions", e["id"], "cancel")
        await api.wait_done(e["id"])


async def test_import_copies_into_the_root_never_over_a_file(api, root):
    e = await api.ok("POST", "executions", body={"input_notebook": "quick.ipynb"}, expect=201)
    await api.wait_done(e["id"])
    first = await api.ok("POST", "executions", e["id"], "import", body={})
    second = await api.ok("POST", "executions", e["id"], "import", body={"dest_dir": "imported_notebook_jobs"})
    assert first["path"].startswith("imported_notebook_jobs/") and first["path"] != second["path"]
    assert (root / first["path"]).is_file() and (root / second["path"]).is_file()
    custom = await api.ok("POST", "executions", e["id"], "import", body={"dest_dir": "results/week1"})
    assert custom["path"].startswith("results/week1/")
    status, err = await api("POST", "executions", e["id"], "import", body={"dest_dir": "quick.ipynb"})
    assert status == 400 and "not a folder" in err["error"]["message"]
    # A file:// URI as pathlib writes one (percent-encoded), inside the root; never outside it.
    by_uri = await api.ok("POST", "executions", e["id"], "import", body={"dest_dir": (root / "week 2").as_uri()})
    assert by_uri["path"].startswith("week 2/") and (root / by_uri["path"]).is_file()
    for outside in ["file:///tmp", "file://elsewhere/x", (root.parent / "out").as_uri()]:
        status, err = await api("POST", "executions", e["id"], "import", body={"dest_dir": outside})
        assert status == 400 and err["error"]["field"] == "dest_dir", (outside, err)
    assert not list(root.glob("gs:*")) and not list(root.glob("file:*"))


async def test_environments_config_preview_and_parameters(api):
    env = await api.ok("GET", "environments")
    assert any(k["name"] == "python3" and k["language"] == "python" for k in env["kernels"])
    config = await api.ok("GET", "config")
    assert [b["name"] for b in config["backends"]] == ["local", "vertex", "ray"] and config["default_backend"] == "local"
    local = config["backends"][0]
    assert local["fields"] == ["kernel_name"] and local["configured"] and not local["remote"]
    # What an empty output location means, for the dialog's placeholder.
    assert config["default_output_location"].endswith("outputs") and os.path.isabs(config["default_output_location"])
    preview = await api.ok("GET", "schedules/preview".split("/")[0], "preview",
                           params={"cron_schedule": "30 9 * * 1-5", "time_zone": "Europe/Paris", "count": "3"})
    assert len(preview["next_run_times"]) == 3 and all(t[11:16] == "09:30" for t in preview["next_run_times"])
    status, err = await api("GET", "schedules", "preview", params={"cron_schedule": "61 * * * *"})
    assert status == 400 and err["error"]["code"] == "invalid_schedule"
    status, err = await api("GET", "schedules", "preview", params={"cron_schedule": "* * * * *", "time_zone": "Mars/Base"})
    assert status == 400 and err["error"]["code"] == "invalid_schedule"
    params = await api.ok("GET", "notebooks", "parameters", params={"path": "params.ipynb"})
    assert [(p["name"], p["default"]) for p in params["parameters"]] == [("alpha", 1)]
    status, err = await api("GET", "notebooks", "parameters", params={"path": "missing.ipynb"})
    assert status == 400


async def test_errors_name_the_field_they_are_about(api):
    for body, field in [({}, "input_notebook"), ({"input_notebook": "nope.ipynb"}, "input_notebook"),
                        ({"input_notebook": "quick.ipynb", "backend": "mainframe"}, "backend"),
                        ({"input_notebook": "quick.ipynb", "kernel_name": "cobol"}, "kernel_name"),
                        ({"input_notebook": "params.ipynb", "parameters": "alpha=[1,"}, "parameters"),
                        ({"input_notebook": "quick.ipynb", "output_location": "../out"}, "output_location"),
                        ({"input_notebook": "quick.ipynb", "machine_type": 5}, "machine_type"),
                        ({"input_notebook": "quick.ipynb", "timeout_seconds": "soon"}, "timeout_seconds")]:
        status, err = await api("POST", "executions", body=body)
        assert status == 400 and err["error"].get("field") == field, (body, err)
    status, err = await api("POST", "schedules", body={"cron_schedule": "0 9 * *",
                                                       "execution_template": {"input_notebook": "quick.ipynb"}})
    assert err["error"]["field"] == "cron_schedule"
    status, err = await api("POST", "schedules", body={"cron_schedule": "0 9 * * *", "execution_template": {
        "input_notebook": "quick.ipynb", "accelerator_count": "two"}})
    assert status == 400 and err["error"]["field"] == "accelerator_count", err
    assert "execution_template.accelerator_count" in err["error"]["message"]
    status, err = await api("GET", "schedules", "preview", params={"cron_schedule": "0 9 * * *", "time_zone": "Nowhere/X"})
    assert err["error"]["field"] == "time_zone"


async def test_action_bodies_refuse_unknown_fields(api):
    e = await api.wait_done((await api.ok("POST", "executions", body={"input_notebook": "quick.ipynb"}, expect=201))["id"])
    for path, body in [(("import",), {"dest": "x"}), (("share",), {"lifetime": 5})]:
        status, err = await api("POST", "executions", e["id"], *path, body=body)
        assert status == 400 and "unknown fields" in err["error"]["message"], (path, err)


async def test_record_bodies_refuse_unknown_fields(api):
    template = {"input_notebook": "quick.ipynb"}
    schedule = (await api.ok("POST", "schedules", body={"cron_schedule": "0 3 1 1 *", "execution_template": template},
                             expect=201))
    for method, path, body, name in [
            ("POST", ("executions",), {**template, "colour": "red"}, "colour"),
            ("POST", ("schedules",), {"cron_schedule": "0 3 1 1 *", "execution_template": template, "every": 1}, "every"),
            ("POST", ("schedules",), {"cron_schedule": "0 3 1 1 *", "execution_template": {**template, "gpu": 1}}, "gpu"),
            ("PATCH", ("schedules", schedule["id"]), {"paused": True}, "paused"),
            ("PATCH", ("schedules", schedule["id"]), {"execution_template": {"lr": 1}}, "lr")]:
        status, err = await api(method, *path, body=body)
        assert status == 400 and "unknown fields" in err["error"]["message"] and name in err["error"]["message"], (body, err)
    assert len((await api.ok("GET", "schedules"))["schedules"]) == 1
