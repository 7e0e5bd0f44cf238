"""Schedules over REST: create, list, get, change (fields, template, pause/resume), run
now, delete (executions kept), and invalid input."""

from __future__ import annotations


async def _create(api, **fields):
    body = {"cron_schedule": "0 9 * * 1-5", "time_zone": "Europe/Paris", "display_name": "daily",
            "execution_template": {"input_notebook": "params.ipynb", "parameters": {"alpha": 2}}}
    body.update(fields)
    return await api.ok("POST", "schedules", body=body, expect=201)


async def test_create_list_get_update_pause_resume_delete(api):
    s = await _create(api)
    assert s["state"] == "ENABLED" and s["next_run_time"] and s["missed_runs"] == "run_once"
    assert s["execution_template"]["input_notebook"] == "params.ipynb"
    assert [x["id"] for x in (await api.ok("GET", "schedules"))["schedules"]] == [s["id"]]
    assert (await api.ok("GET", "schedules", s["id"]))["display_name"] == "daily"

    # (a slot that does not come during the test: the server's scheduler is running)
    changed = await api.ok("PATCH", "schedules", s["id"], body={
        "cron_schedule": "15 4 1 1 *", "execution_template": {"parameters": {"alpha": 3}}})
    assert changed["cron_schedule"] == "15 4 1 1 *"
    assert changed["execution_template"]["parameters"] == {"alpha": 3}
    assert changed["execution_template"]["input_notebook"] == "params.ipynb"  # merged, not replaced

    paused = await api.ok("PATCH", "schedules", s["id"], body={"state": "PAUSED"})
    assert paused["state"] == "PAUSED" and paused["next_run_time"] is None
    assert [x["id"] for x in (await api.ok("GET", "schedules", params={"state": "PAUSED"}))["schedules"]] == [s["id"]]
    resumed = await api.ok("PATCH", "schedules", s["id"], body={"state": "ENABLED"})
    assert resumed["state"] == "ENABLED" and resumed["next_run_time"]

    run = await api.ok("POST", "schedules", s["id"], "run", body={"parameters": {"alpha": 9}}, expect=201)
    assert run["schedule_id"] == s["id"] and run["parameters"]["alpha"] == 9
    assert (await api.wait_done(run["id"]))["state"] == "SUCCEEDED"
    latest = await api.ok("GET", "schedules", s["id"])
    assert latest["last_execution"] == {"id": run["id"], "state": "SUCCEEDED"}

    await api.ok("DELETE", "schedules", s["id"], expect=204)
    assert (await api("GET", "schedules", s["id"]))[0] == 404
    kept = await api.ok("GET", "executions", params={"schedule_id": s["id"]})
    assert [e["id"] for e in kept["executions"]] == [run["id"]]


async def test_invalid_schedules_are_400_and_write_nothing(api):
    template = {"input_notebook": "params.ipynb"}
    cases = [
        ({"cron_schedule": "0 9 * *", "execution_template": template}, "invalid_schedule"),
        ({"cron_schedule": "0 25 * * *", "execution_template": template}, "invalid_schedule"),
        ({"cron_schedule": "0 9 * * *", "time_zone": "Europe/Atlantis", "execution_template": template}, "invalid_schedule"),
        ({"cron_schedule": "0 9 * * *", "missed_runs": "sometimes", "execution_template": template}, None),
        ({"cron_schedule": "0 9 * * *"}, "bad_request"),
        ({"execution_template": template}, "bad_request"),
        ({"cron_schedule": "0 9 * * *", "execution_template": {"input_notebook": "/etc/passwd"}}, "bad_request"),
        ({"cron_schedule": "0 9 * * *", "execution_template": template, "every": "day"}, "bad_request"),
        ({"cron_schedule": "0 9 * * *", "execution_template": "params.ipynb"}, "bad_request"),
    ]
    for body, code in cases:
        status, err = await api("POST", "schedules", body=body)
        assert status == 400 and (code is None or err["error"]["code"] == code), (body, err)
        assert err["error"]["message"]
    assert (await api.ok("GET", "schedules"))["schedules"] == []
    s = await _create(api)
    for body in ({"state": "SLEEPING"}, {"cron_schedule": "nope"}, {"id": "other"},
                 {"execution_template": {"input_notebook": "../x.ipynb"}}):
        status, err = await api("PATCH", "schedules", s["id"], body=body)
        assert status == 400, (body, err)
    assert (await api.ok("GET", "schedules", s["id"]))["cron_schedule"] == "0 9 * * 1-5"


async def test_the_in_process_scheduler_fires(api):
    s = await _create(api, cron_schedule="* * * * *", time_zone="UTC", missed_runs="skip")
    import asyncio
    import datetime as dt
    import time

    # The next minute boundary is at most 60 s away: the server's scheduler fires it.
    deadline = time.monotonic() + 75
    while True:
        page = await api.ok("GET", "executions", params={"schedule_id": s["id"]})
        if page["executions"]:
            break
        assert time.monotonic() < deadline, "no execution fired"
        await asyncio.sleep(0.25)
    fired = page["executions"][0]
    assert fired["scheduled_time"] == s["next_run_time"]
    assert dt.datetime.fromisoformat(fired["create_time"].replace("Z", "+00:00")) >= \
        dt.datetime.fromisoformat(s["next_run_time"].replace("Z", "+00:00"))
    await api.wait_done(fired["id"])


async def test_names_in_the_schedule_and_its_template(api):
    both = await _create(api, display_name="nightly",
                         execution_template={"input_notebook": "quick.ipynb", "display_name": "run name"})
    assert both["display_name"] == "nightly"
    only_template = await _create(api, display_name=None,
                                  execution_template={"input_notebook": "quick.ipynb", "display_name": "from template"})
    assert only_template["display_name"] == "from template"
