"""Tests of `layersim.model.digest`: the OCI ChainID formula, digest validation, synthetic digests."""

from __future__ import annotations

import hashlib

import pytest

from layersim.errors import ModelError
from layersim.model.digest import (
    DiffID,
    chain_ids,
    content_digest,
    parse_digest,
    sha256_digest,
    synthetic_digest,
)

D1 = DiffID("sha256:" + "1" * 64)
D2 = DiffID("sha256:" + "2" * 64)
D3 = DiffID("sha256:" + "3" * 64)


def _oci_chain(parent: str, diff_id: str) -> str:
    """OCI image spec, config.md: ChainID(Ln) = SHA256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


def test_chain_id_of_the_base_layer_is_its_diff_id() -> None:
    """ChainID(L1) = DiffID(L1)."""
    assert chain_ids([D1]) == [D1]


def test_chain_ids_follow_the_oci_formula() -> None:
    """ChainIDs of [D1, D2, D3] computed with hashlib from the OCI formula, one by one."""
    c2 = _oci_chain(D1, D2)
    c3 = _oci_chain(c2, D3)
    assert chain_ids([D1, D2, D3]) == [D1, c2, c3]


def test_chain_ids_known_value() -> None:
    """A fixed value, so that a change in the formula (separator, encoding) cannot pass
    unnoticed: sha256("sha256:111…1 sha256:222…2")."""
    expected = hashlib.sha256(
        ("sha256:" + "1" * 64 + " " + "sha256:" + "2" * 64).encode("ascii")
    ).hexdigest()
    assert chain_ids([D1, D2])[1] == "sha256:" + expected


def test_same_layer_on_another_parent_has_another_chain_id() -> None:
    """D3 on D1 and D3 on D2: the same DiffID, two ChainIDs (two node layers)."""
    assert chain_ids([D1, D3])[1] != chain_ids([D2, D3])[1]


def test_repeated_layer_in_one_stack_has_distinct_chain_ids() -> None:
    """[D1, D1]: the second D1 sits on D1, so its ChainID is not D1."""
    first, second = chain_ids([D1, D1])
    assert first == D1
    assert second == _oci_chain(D1, D1) != D1


def test_chain_ids_of_nothing() -> None:
    """An empty stack has no ChainIDs."""
    assert chain_ids([]) == []


@pytest.mark.parametrize(
    "text",
    ["sha256:" + "0" * 64, "sha256:" + "0123456789abcdef" * 4, sha256_digest(b"x")],
)
def test_parse_digest_accepts_lowercase_sha256(text: str) -> None:
    """A well-formed `sha256:<64 lowercase hex>` is returned unchanged."""
    assert parse_digest(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "sha256:" + "A" * 64,  # uppercase hex
        "sha256:" + "0" * 63,  # too short
        "sha256:" + "0" * 65,  # too long
        "sha256:" + "g" * 64,  # not hex
        "sha512:" + "0" * 64,  # another algorithm
        "0" * 64,  # no algorithm
        " sha256:" + "0" * 64,  # leading space
        "sha256:" + "0" * 64 + "\n",  # trailing newline (re.match would let `$` accept it)
        "",
        None,
        b"sha256:" + b"0" * 64,
    ],
)
def test_parse_digest_rejects_malformed(text: object) -> None:
    """Anything but `sha256:<64 lowercase hex>` (including bytes and None) is a ModelError."""
    with pytest.raises(ModelError, match="not a sha256 digest"):
        parse_digest(text)  # type: ignore[arg-type]


def test_sha256_digest() -> None:
    """sha256_digest(b"") is the well-known empty-input hash."""
    assert sha256_digest(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_synthetic_digest_parts_do_not_collide_by_concatenation() -> None:
    """("ab", "c") and ("a", "bc") are different part lists, so different digests; an int part
    and its string are the same part; the result is a valid digest."""
    assert synthetic_digest("ab", "c") != synthetic_digest("a", "bc")
    assert synthetic_digest("x", 1) == synthetic_digest("x", "1")
    assert parse_digest(synthetic_digest("x")) == synthetic_digest("x")


def test_content_digest_is_name_and_length() -> None:
    """The same name and length are the same content; another length is another content."""
    assert content_digest("libc", 10) == content_digest("libc", 10)
    assert content_digest("libc", 10) != content_digest("libc", 11)
    assert content_digest("libc", 10) != content_digest("libm", 10)
