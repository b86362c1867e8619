"""Development configuration used by `make run` (jupyter lab --config=jupyter_config.py)."""

import os

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("RESYNC_PORT", "8888"))
c.ServerApp.open_browser = False
c.ServerApp.root_dir = os.path.dirname(os.path.abspath(__file__))
c.ServerApp.jpserver_extensions = {"resync_ext": True}
c.LabApp.default_url = "/lab/tree/notebooks/chat.ipynb"
c.ResyncApp.agents_config = os.path.join(c.ServerApp.root_dir, "config", "runtime.json")
# Offline by design: no announcement feed, no update check reaching out from the browser. The
# announcements plugin itself (the "official Jupyter news?" toast) is disabled by
# jupyter-config/labconfig/page_config.json, which scripts/run.sh puts on JUPYTER_CONFIG_PATH.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
