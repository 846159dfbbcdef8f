"""JupyterLab for the side panel's UI tests (galata): port 8900, a fresh server root and MLTRAIN_HOME.

playwright.config.ts chooses the folders and passes them in MLTRAIN_UI_ROOT and MLTRAIN_HOME, so the
tests write files where the server sees them and `mltrain submit` uses the server's run store. Run by
hand, this config makes temporary ones. The panel is loaded from the freshly built
jupyter_mltrain/labextension/ (ahead of any installed copy).
"""

import os
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = 8900  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821

root = os.environ.get("MLTRAIN_UI_ROOT") or tempfile.mkdtemp(prefix="mltrain-ui-root-")
os.makedirs(root, exist_ok=True)
c.ServerApp.root_dir = root  # noqa: F821
# Exported: the server, its kernels and the runs it submits share one store with the tests' CLI.
os.environ["MLTRAIN_HOME"] = os.environ.get("MLTRAIN_HOME") or tempfile.mkdtemp(prefix="mltrain-ui-home-")

built = Path(__file__).resolve().parents[2] / "jupyter_mltrain" / "labextension"
if (built / "package.json").exists():
    # A labextensions folder holds one folder per extension, named after its package.
    ext_dir = Path(tempfile.mkdtemp(prefix="mltrain-ui-labext-"))
    (ext_dir / "jupyter-mltrain").symlink_to(built)
    galata = c.LabServerApp.extra_labextensions_path  # noqa: F821
    c.LabServerApp.extra_labextensions_path = [str(ext_dir), *([galata] if isinstance(galata, str) else galata)]  # noqa: F821
