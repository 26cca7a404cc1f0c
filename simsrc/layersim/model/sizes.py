"""The four size units of layersim (docs/design.md §4), each computed in one place.

- **file bytes**: a file's length.
- **tar bytes**: what an entry costs in an uncompressed layer tar (what DiffID hashes), as Go's
  `archive/tar` writes it (Docker, containerd, buildah): a 512-byte header, the data padded to
  512, and, when the name does not fit a USTAR header, a PAX extended header before it (512 bytes
  plus its records padded to 512). A tar ends with two 512-byte zero blocks; Go pads no further.
- **compressed bytes**: what a modelled blob costs on the wire and in a registry, from a
  per-content-class compressibility (real images take the exact figure from the manifest).
- **disk bytes**: what an extracted entry costs on a node: a regular file's length rounded up to
  the filesystem block, one block per directory, nothing for whiteouts, symlinks and hard links
  (an inode, not a data block).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from layersim.errors import ModelError

TAR_BLOCK_BYTES = 512
TAR_END_BYTES = 2 * TAR_BLOCK_BYTES
USTAR_NAME_BYTES = 100
USTAR_PREFIX_BYTES = 155
DEFAULT_BLOCK_BYTES = 4096
# gzip member header (10) + trailer (8) + the deflate end-of-stream block, rounded.
GZIP_FRAMING_BYTES = 20


def pad_to_block(n_bytes: int, block_bytes: int) -> int:
    """`n_bytes` rounded up to a whole number of `block_bytes`."""
    return -(-n_bytes // block_bytes) * block_bytes


def _split_ustar(name: str) -> bool:
    """Whether Go's `splitUSTARPath` can store `name` as USTAR prefix + name fields."""
    length = len(name)
    if length <= USTAR_NAME_BYTES or not name.isascii():
        return False
    if length > USTAR_PREFIX_BYTES + 1:
        length = USTAR_PREFIX_BYTES + 1
    elif name[length - 1] == "/":
        length -= 1
    i = name.rfind("/", 0, length)
    suffix_len = len(name) - i - 1
    return not (
        i <= 0 or suffix_len > USTAR_NAME_BYTES or suffix_len == 0 or i > USTAR_PREFIX_BYTES
    )


def _too_long(value: str) -> bool:
    """Go records a PAX value for a name or link target over 100 bytes or not ASCII."""
    return len(value.encode()) > USTAR_NAME_BYTES or not value.isascii()


# USTAR's size field holds 11 octal digits: a file of 8 GiB or more needs a PAX `size` record.
USTAR_MAX_FILE_BYTES = 8**11 - 1


def pax_record_bytes(key: str, value: str) -> int:
    """Length of one PAX record `"%d %s=%s\\n"`, whose length field counts itself."""
    body = len(f" {key}={value}\n".encode())
    total = body + 1
    while len(str(total)) + body != total:
        total = len(str(total)) + body
    return total


def tar_header_bytes(tar_name: str, link_name: str = "", file_bytes: int = 0) -> int:
    """Header bytes of one tar entry as Go's archive/tar writes it: 512, plus a PAX header
    (512 + its records padded to 512) when USTAR cannot hold the entry: a name that neither
    fits 100 bytes nor splits into prefix + name, a link target over 100 bytes, a non-ASCII
    name, or a size of 8 GiB or more. Once PAX is used, Go writes a record for every long
    value, even a name USTAR could have split."""
    long_name, long_link = _too_long(tar_name), bool(link_name) and _too_long(link_name)
    big = file_bytes > USTAR_MAX_FILE_BYTES
    name_fits = not long_name or (tar_name.isascii() and _split_ustar(tar_name))
    if name_fits and not long_link and not big:
        return TAR_BLOCK_BYTES
    records = 0
    if long_name:
        records += pax_record_bytes("path", tar_name)
    if long_link:
        records += pax_record_bytes("linkpath", link_name)
    if big:
        records += pax_record_bytes("size", str(file_bytes))
    return TAR_BLOCK_BYTES + TAR_BLOCK_BYTES + pad_to_block(records, TAR_BLOCK_BYTES)


def tar_entry_bytes(tar_name: str, file_bytes: int, link_name: str = "") -> int:
    """Tar bytes of one entry: its header(s) and its data padded to 512."""
    header = tar_header_bytes(tar_name, link_name, file_bytes)
    return header + pad_to_block(file_bytes, TAR_BLOCK_BYTES)


def disk_file_bytes(file_bytes: int, block_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
    """Disk bytes of a regular file's data: its length rounded up to the filesystem block."""
    return pad_to_block(file_bytes, block_bytes)


def _ceil_ratio(n_bytes: int, ratio_permille: int) -> int:
    return -(-n_bytes * 1000 // ratio_permille)


# Compression ratios (uncompressed / compressed) in per-mille, so that every figure is an exact
# integer in both implementations. Calibrated so that a typical image compresses 2.2x-2.7x with
# gzip, as the docker-library/repo-info rows of docs/anchors.md show (e.g. python:3.12-bookworm,
# 1.02 GB on disk vs 380.6 MB compressed: 2.7x; debian:bookworm 116.57 / 48.5 MB: 2.4x).
DEFAULT_CLASS_RATIOS_PERMILLE: Mapping[str, int] = MappingProxyType(
    {
        "text": 4000,  # source, scripts, configs, docs: gzip typically 3x-5x
        "binary": 2400,  # ELF executables and shared libraries: about 2.4x (debian:bookworm)
        "archive": 1000,  # already-compressed data (jars, wheels, images, .gz): no gain
    }
)
# Tar headers are mostly zeros and repeated fields; gzip shrinks them about 10x.
DEFAULT_METADATA_RATIO_PERMILLE = 10000


@dataclass(frozen=True)
class CompressionModel:
    """Compressed bytes of a modelled blob: each entry's header bytes at the metadata ratio,
    its file bytes at its content class's ratio, plus the end blocks and the gzip framing.

    `compressed = GZIP_FRAMING + ceil(1024*1000/meta) + sum(ceil(header*1000/meta) +
    ceil(file_bytes*1000/class))`, every term an integer number of bytes.
    """

    class_ratios_permille: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_CLASS_RATIOS_PERMILLE)
    )
    metadata_ratio_permille: int = DEFAULT_METADATA_RATIO_PERMILLE
    default_class: str = "binary"

    def __post_init__(self) -> None:
        for name, ratio in self.class_ratios_permille.items():
            if not isinstance(ratio, int) or ratio < 1000:
                raise ModelError(f"compression ratio of class {name!r} must be >= 1000 per-mille")
        if self.default_class not in self.class_ratios_permille:
            raise ModelError(f"default content class {self.default_class!r} has no ratio")

    def ratio(self, content_class: str) -> int:
        try:
            return self.class_ratios_permille[content_class]
        except KeyError:
            known = ", ".join(sorted(self.class_ratios_permille))
            raise ModelError(f"unknown content class {content_class!r} (known: {known})") from None

    def entry_bytes(self, header_bytes: int, file_bytes: int, content_class: str) -> int:
        """Compressed bytes one tar entry adds to a blob."""
        data = _ceil_ratio(file_bytes, self.ratio(content_class)) if file_bytes else 0
        return _ceil_ratio(header_bytes, self.metadata_ratio_permille) + data

    def content_bytes(self, file_bytes: int, content_class: str) -> int:
        """Compressed bytes of one file's contents alone (what a file-level store keeps)."""
        return _ceil_ratio(file_bytes, self.ratio(content_class)) if file_bytes else 0

    def blob_overhead_bytes(self) -> int:
        """Compressed bytes of a blob that are no entry's: the end blocks and gzip framing."""
        return GZIP_FRAMING_BYTES + _ceil_ratio(TAR_END_BYTES, self.metadata_ratio_permille)
