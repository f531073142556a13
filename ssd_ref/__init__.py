"""ssd_ref: a reference SSD300 trainer faithful to the original Caffe configuration."""

import importlib.util as _util
import sys as _sys


def _absent(module: str) -> bool:
    if _sys.modules.get(module) is not None:
        return False
    try:
        return _util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


_MISSING = [name for name, module in (("torch", "torch"), ("OpenCV", "cv2")) if _absent(module)]
if _MISSING:
    raise ImportError(
        f"ssd_ref needs {' and '.join(_MISSING)}: install vocmap[train] "
        "(pip install 'vocmap[train]'; bring the torch build that fits your machine)"
    )
