"""Jupyter server configuration of the browser tests (ui-tests/start-server.sh).

galata's helper: no token, no XSRF check, port 8888, the galata test extension, a temp
root dir (JUPYTERLAB_GALATA_ROOT_DIR). Never use this configuration for a real server.
"""

import os
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821 (given by Jupyter when it loads the file)

configure_jupyter_server(c)

REPO = Path(__file__).resolve().parent.parent

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("UI_TESTS_PORT", "8888"))
# The server extension, whatever the environment's jupyter_server_config.d says.
c.ServerApp.jpserver_extensions = {"notebook_executor": True}
# The labextension just built (labextension/ -> wheel-data/...), so the tests do not depend
# on whether it was also installed into the environment; galata's test helper extension
# (set as a single path by configure_jupyter_server) stays on the list.
galata_extensions = c.LabServerApp.extra_labextensions_path
if isinstance(galata_extensions, str):
    galata_extensions = [galata_extensions]
c.LabServerApp.extra_labextensions_path = [
    str(REPO / "wheel-data" / "data" / "share" / "jupyter" / "labextensions"),
    *galata_extensions,
]
# No news or update checks (no internet here).
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
