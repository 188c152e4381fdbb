"""Local text for training tokenizers, calibrating GPTQ and measuring perplexity.

Nothing is downloaded: the text comes from the Debian licence texts under
/usr/share/common-licenses when present and from the docstrings of Python's own
standard library (present wherever these tools run). Calibration and held-out
text are drawn from disjoint sources so perplexity is measured on unseen text.
"""
import importlib
import pathlib

LICENSE_DIR = pathlib.Path("/usr/share/common-licenses")

# Standard-library modules whose docstrings serve as calibration text.
CALIBRATION_MODULES = [
    "argparse", "asyncio.events", "collections", "concurrent.futures._base", "csv",
    "dataclasses", "datetime", "decimal", "difflib", "email.message", "enum",
    "fractions", "functools", "heapq", "http.client", "inspect", "io", "ipaddress",
    "itertools", "json", "logging", "pathlib", "pickle", "random", "re", "shutil",
    "sqlite3", "statistics", "string", "subprocess", "tarfile", "textwrap",
    "threading", "typing", "unittest.case", "urllib.parse", "zipfile",
]
# Disjoint modules used as held-out text for perplexity.
HELDOUT_MODULES = ["calendar", "configparser", "gettext", "locale", "optparse", "smtplib"]


def _docstrings(module_name):
    try:
        module = importlib.import_module(module_name)
    except Exception:  # a module missing on some platform is simply skipped
        return []
    texts = []
    if module.__doc__:
        texts.append(module.__doc__)
    for name in sorted(vars(module)):
        obj = getattr(module, name)
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        doc = getattr(obj, "__doc__", None)
        if isinstance(doc, str) and len(doc) > 80:
            texts.append(doc)
    return [t.strip() for t in texts]


def docstring_text(modules):
    """All docstrings of the given modules, joined by blank lines."""
    parts = []
    for module_name in modules:
        parts.extend(_docstrings(module_name))
    return "\n\n".join(parts)


def license_texts(names=None):
    """Debian licence texts (empty list where /usr/share/common-licenses is absent)."""
    if not LICENSE_DIR.is_dir():
        return []
    files = sorted(p for p in LICENSE_DIR.iterdir() if p.is_file() and not p.is_symlink())
    if names is not None:
        files = [p for p in files if p.name in names]
    return [p.read_text(encoding="utf-8", errors="replace") for p in files]


def tokenizer_training_texts():
    """Text used to train the tiny BPE tokenizers."""
    return license_texts() + [docstring_text(CALIBRATION_MODULES)]


def calibration_text():
    """Text used to collect GPTQ calibration activations."""
    return docstring_text(CALIBRATION_MODULES)


def heldout_text():
    """Text never used for calibration, for perplexity."""
    return docstring_text(HELDOUT_MODULES)
