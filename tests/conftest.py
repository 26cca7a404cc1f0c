"""Shared test configuration: hypothesis profiles, chosen with `HYPOTHESIS_PROFILE`.

- `default` (and `ci`, the same): 300 examples per property, no deadline. 300 is enough for the
  population strategy to hit every overlay case several times over — measured over 300
  populations: a whiteout of a file (~90 populations), of an explicit directory (~30), of an
  implicit one (~80) and of nothing (~200); an opaque marker that hides something, with its
  directory entry (~70) and without (~45); a directory over a file (~75), a non-directory over
  a directory's subtree (~8), directories merging (~35); a layer on two parents (~240); USTAR
  splits (~100) and PAX headers (~130) — while the whole suite stays within a few minutes on a
  2-core machine. No deadline: an example's time depends on how many images and nodes it draws.
- `thorough`: 3000 examples, for a run before a release or after touching the core semantics.

The engine's compiled loops run with bounds checks in the tests (`NUMBA_BOUNDSCHECK`): they
index plain arrays and trust their callers' sizes, and a write past an array's end would
otherwise pass silently. Compiled that way they get a cache of their own.
"""

import os
import tempfile

os.environ.setdefault("NUMBA_BOUNDSCHECK", "1")
os.environ.setdefault(
    "NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "layersim-numba-boundscheck")
)

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    # the population strategy makes many draws per example by design
    "suppress_health_check": (HealthCheck.too_slow, HealthCheck.data_too_large),
}

settings.register_profile("default", max_examples=300, **_COMMON)
settings.register_profile("ci", max_examples=300, **_COMMON)
settings.register_profile("thorough", max_examples=3000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_blob_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Every test gets an empty blob cache of its own (`analyze` and `calibrate` use one by
    default under $XDG_CACHE_HOME): no test reads what another cached, none writes in $HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
