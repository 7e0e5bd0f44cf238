"""Results in Cloud Storage through the REST API: a `gs://` output location, then the result
page, the notebook download, import into the root and a share link, as for local results
(against the emulator on loopback)."""

from __future__ import annotations

import json
from urllib.parse import urlparse


def stdout_of(nb: dict) -> str:
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
                   if o.get("name") == "stdout")


async def test_a_result_in_a_bucket_is_viewed_downloaded_imported_and_shared(api, root, fake_gcs, bucket,
                                                                           http_server_client):
    e = await api.ok("POST", "executions", body={"input_notebook": "params.ipynb", "parameters": {"alpha": 42},
                                                 "output_location": f"gs://{bucket}/team/"}, expect=201)
    assert e["output_notebook_uri"].startswith(f"gs://{bucket}/team/params-")
    done = await api.wait_done(e["id"])
    assert done["state"] == "SUCCEEDED", done
    # The files are in the bucket, nowhere in the root.
    names = fake_gcs.names(bucket, "team/")
    assert any(n.endswith(".ipynb") for n in names) and any(n.endswith(".html") for n in names)
    assert not list(root.rglob("params-*"))

    code, page = await api("GET", "executions", e["id"], "result")
    assert code == 200 and b"alpha=42" in page

    code, data = await api("GET", "executions", e["id"], "notebook")
    assert code == 200 and stdout_of(json.loads(data)) == "alpha=42\n"
    assert data == fake_gcs.get(done["output_notebook_uri"])

    imported = await api.ok("POST", "executions", e["id"], "import", body={})
    assert imported["path"].startswith("imported_notebook_jobs/params-")
    assert stdout_of(json.loads((root / imported["path"]).read_text())) == "alpha=42\n"
    # Into a bucket, as the Python API and the CLI import (no local folder named "gs:").
    to_bucket = await api.ok("POST", "executions", e["id"], "import", body={"dest_dir": f"gs://{bucket}/kept/"})
    assert to_bucket["path"].startswith(f"gs://{bucket}/kept/params-")
    assert stdout_of(json.loads(fake_gcs.get(to_bucket["path"]))) == "alpha=42\n"
    assert not (root / "gs:").exists()

    link = await api.ok("POST", "executions", e["id"], "share", body={}, expect=201)
    shared = await http_server_client.fetch(urlparse(link["url"]).path, raise_error=False)
    assert shared.code == 200 and b"alpha=42" in shared.body


async def test_a_notebook_in_a_bucket_is_submitted_by_its_uri(api, fake_gcs, bucket, root):
    src = fake_gcs.put(bucket, "in/params.ipynb", (root / "params.ipynb").read_bytes())
    e = await api.ok("POST", "executions", body={"input_notebook": src, "parameters": {"alpha": 3}}, expect=201)
    assert e["input_notebook"] == src and e["display_name"] == "params"
    done = await api.wait_done(e["id"])
    assert done["state"] == "SUCCEEDED", done
    params = await api.ok("GET", "notebooks", "parameters", params={"path": src})
    assert [(p["name"], p["default"]) for p in params["parameters"]] == [("alpha", 1)]


async def test_a_missing_bucket_is_named_and_nothing_is_recorded(api, bucket):
    code, err = await api("POST", "executions", body={"input_notebook": "quick.ipynb",
                                                      "output_location": "gs://nx-no-such-bucket/x/"})
    assert code == 400 and err["error"]["field"] == "output_location"
    assert "bucket nx-no-such-bucket does not exist" in err["error"]["message"]
    code, err = await api("POST", "executions", body={"input_notebook": "quick.ipynb",
                                                      "output_location": "s3://elsewhere/x/"})
    assert code == 400 and "unsupported location scheme s3://" in err["error"]["message"]
    assert (await api.ok("GET", "executions"))["executions"] == []
