"""Install inpainting/_tvshim.py into the running interpreter's site-packages (see that file for why).

Idempotent; prints what it did. Run with the environment's python: ``python tools/install_tvshim.py``.
"""
import pathlib
import shutil
import sysconfig

MODULE = "_inpainting_tvshim"


def main():
    site = pathlib.Path(sysconfig.get_paths()["purelib"])
    source = pathlib.Path(__file__).parents[1] / "inpainting" / "_tvshim.py"
    shutil.copyfile(source, site / f"{MODULE}.py")
    (site / f"{MODULE}.pth").write_text(f"import {MODULE}; {MODULE}.install()\n")
    print(f"torchvision CPU shim installed in {site}")


if __name__ == "__main__":
    main()
