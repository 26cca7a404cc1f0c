"""Hand-made image sets for the calibration tests, written as OCI layouts and docker-archives
(`tests.readers.images` helpers) so that the real readers read them and every byte count
is what a registry would see. Their contents are deterministic: "binary" files are runs of
pseudo-random bytes and zeros (gzip about 2.5x), "text" files are words from a small vocabulary
(gzip about 4.4x).

The hand-made set (`build_set`): a base image `base:1` of one layer (45 files: 40 binary, 5
text), and three apps `alpha`, `beta`, `gamma` in three versions each, every one on that base
with a dependency layer (12 text files, the same tar in every version), two code layers of 6
text files (`app/one`, `app/two`; file 0 of each changes in every version, file 1 once, from
version 2), and for `gamma` an archive layer (60,000 random bytes, the same in every version)
that its first code layer deletes.

The runtime set (`build_runtime_set`): the same base under a runtime image `rt:1` of three
layers (20 binary files each), and four apps in two versions, three of them on the runtime and
`gamma` on the base, each with a dependency layer and one code layer.
"""

from __future__ import annotations

import hashlib
import math
import random
import tarfile
from pathlib import Path

from tests.readers.images import Layout, M, make_tar

WORDS = tuple(
    b"the of and to in is it for on with as by at from def return import class self if else "
    b"print value data item list".split(b" ")
)
APPS = ("alpha", "beta", "gamma")
FETCH_BYTES = 60_000
RUNTIME_APPS = (("alpha", True), ("beta", True), ("delta", True), ("gamma", False))


def noise(seed: str, n: int) -> bytes:
    return hashlib.shake_256(seed.encode()).digest(n)


def text(seed: str, n: int) -> bytes:
    r = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        out += r.choice(WORDS) + (b"\n" if r.random() < 0.1 else b" ")
    return bytes(out[:n])


def binary(seed: str, n: int) -> bytes:
    out = bytearray()
    k = 0
    while len(out) < n:
        out += noise(f"{seed}/{k}", 410) + bytes(614)
        k += 1
    return bytes(out[:n])


def sizes(seed: str, n: int, median: float) -> list[int]:
    r = random.Random(seed)
    return [max(1, int(median * math.exp(r.gauss(0, 1)))) for _ in range(n)]


def base_members() -> list[M]:
    members = [M(d, kind=tarfile.DIRTYPE) for d in ("bin", "lib", "etc")]
    for i, n in enumerate(sizes("base", 40, 20000)):
        members.append(M(f"{('bin', 'lib')[i % 2]}/f{i}", binary(f"base{i}", n)))
    members += [M(f"etc/conf{i}.conf", text(f"etc{i}", 800)) for i in range(5)]
    return members


def deps_tar(app: str) -> bytes:
    members = [M(d, kind=tarfile.DIRTYPE) for d in ("usr", "usr/lib", f"usr/lib/{app}")]
    for i, n in enumerate(sizes(f"deps{app}", 12, 6000)):
        members.append(M(f"usr/lib/{app}/m{i}.py", text(f"dep{app}{i}", n)))
    return make_tar(members)


def code_members(app: str, block: str, version: int) -> list[M]:
    members = [M("app", kind=tarfile.DIRTYPE), M(f"app/{block}", kind=tarfile.DIRTYPE)]
    for i, n in enumerate(sizes(f"code{app}{block}", 6, 3000)):
        v = version if i == 0 else (2 if i == 1 and version >= 2 else 0)
        members.append(M(f"app/{block}/s{i}.py", text(f"c{app}{block}{i}v{v}", n)))
    return members


def rt_tar(i: int) -> bytes:
    members = [M(d, kind=tarfile.DIRTYPE) for d in ("usr", "usr/local", f"usr/local/r{i}")]
    for j, n in enumerate(sizes(f"rt{i}", 20, 30000)):
        members.append(M(f"usr/local/r{i}/b{j}", binary(f"rt{i}{j}", n)))
    return make_tar(members)


def build_set(root: Path) -> list[Path]:
    """The hand-made set of the module docstring: one layout per repository."""
    base = make_tar(base_members())
    layout = Layout(root / "base")
    layout.add(layout.image([base]), "1")
    paths = [layout.root]
    for app in APPS:
        layout = Layout(root / app)
        deps = deps_tar(app)
        for version in (1, 2, 3):
            tars = [base, deps]
            first = code_members(app, "one", version)
            if app == "gamma":
                fetched = [
                    M("tmp", kind=tarfile.DIRTYPE),
                    M("tmp/f.tar.gz", noise("f", FETCH_BYTES)),
                ]
                tars.append(make_tar(fetched))
                first.append(M("tmp/.wh.f.tar.gz"))
            tars += [make_tar(first), make_tar(code_members(app, "two", version))]
            layout.add(layout.image(tars), str(version))
        paths.append(layout.root)
    return paths


def build_runtime_set(root: Path) -> list[Path]:
    """The runtime set of the module docstring: the runtime image's layout first."""
    base = make_tar(base_members())
    runtime = [rt_tar(i) for i in range(3)]
    layout = Layout(root / "rt")
    layout.add(layout.image([base, *runtime]), "1")
    paths = [layout.root]
    for app, on_runtime in RUNTIME_APPS:
        layout = Layout(root / app)
        for version in (1, 2):
            parent = [base, *runtime] if on_runtime else [base]
            code = make_tar(code_members(app, "one", version))
            layout.add(layout.image([*parent, deps_tar(app), code]), str(version))
        paths.append(layout.root)
    return paths
