"""Tests of `layersim.advice.fleet`: on the final state of tiny generated fleets (several
seeds), every advice saves exactly what the reference implementation measures on the state
with the advice applied, the arrays' set figures are the reference's, rebase moves only the
images on the old base, and relayer (all advice) is skipped above its bound."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from layersim.accounting import reference
from layersim.accounting.arrays import to_population
from layersim.advice.advise import (
    CONSOLIDATE,
    REBASE,
    RELAYER,
    apply_advice,
    saving_order,
    set_figures,
)
from layersim.advice.fleet import (
    apply_fleet_advice,
    fleet_advice,
    held_arrays,
)
from layersim.advice.fleet import set_figures as array_figures
from layersim.config import load_config
from layersim.fleet import generate
from layersim.model import Population
from layersim.simulation.state import state_arrays
from tests.report.tiny import TINY


def final_state(seed: int):
    config = load_config(scenario="small", overrides=[*TINY, f"seed={seed}"])
    fleet = generate(config, np.random.default_rng(config.seed))
    return state_arrays(fleet, fleet.epochs - 1)


def oracle(population: Population) -> tuple[int, int, int]:
    """The set's figures as the reference implementation computes them."""
    return set_figures(population, reference.evaluate(population))


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 10_000))
def test_fleet_advice_saves_what_the_reference_measures(seed: int) -> None:
    """Every advice of a tiny fleet's final state: the reference implementation's set
    figures of the state before minus after the advice is applied are the claimed savings;
    the arrays' figures before are the reference's; the list is sorted by saving."""
    state = final_state(seed)
    held, _ = held_arrays(state)
    before_population = to_population(held)
    before = oracle(before_population)
    assert array_figures(held) == before
    found = fleet_advice(state)
    assert not found.relayer_skipped and found.images == held.n_images
    assert list(found.advice) == sorted(found.advice, key=saving_order)
    for advice in found.advice:
        if advice.kind == RELAYER:
            after = oracle(apply_advice(before_population, advice))
        else:
            assert advice.kind in (REBASE, CONSOLIDATE) and not advice.estimated
            after = oracle(to_population(apply_fleet_advice(state, advice)))
        claimed = (advice.saves_tar_bytes, advice.saves_compressed_bytes, advice.saves_disk_bytes)
        assert tuple(b - a for b, a in zip(before, after, strict=True)) == claimed
        assert max(claimed) > 0


def test_rebase_moves_the_images_on_the_old_base_only() -> None:
    """A rebase advice changes exactly the held images whose stack starts with the old base
    (and are of another family): their base layers become the target's, the rest stay; the
    old base, if held, becomes the target."""
    state = final_state(42)
    found = [a for a in fleet_advice(state, relayer_max_images=0).advice if a.kind == REBASE]
    assert found
    advice = found[0]
    held, _ = held_arrays(state)
    changed = apply_fleet_advice(state, advice)
    ids = {n: i for i, n in enumerate(state.image_names)}

    def stack(arrays, i):
        return tuple(arrays.image_layers[arrays.image_offsets[i] : arrays.image_offsets[i + 1]])

    old, new = stack(state, ids[advice.image]), stack(state, ids[advice.target])
    moved = 0
    for i in range(held.n_images):
        if held.image_names[i] == advice.image:  # the old base, retired
            assert stack(changed, i) == new
        elif stack(held, i) != stack(changed, i):
            moved += 1
            assert stack(held, i)[: len(old)] == old
            assert stack(changed, i) == new + stack(held, i)[len(old) :]
    assert moved > 0 and f"the {moved} held image(s)" in advice.detail
    assert advice.detail.endswith(f"{advice.image} retired")


def test_relayer_and_all_advice_are_bounded() -> None:
    """Above `relayer_max_images` images, relayer is not computed; above `max_images`, no
    advice is; the result says which."""
    state = final_state(42)
    found = fleet_advice(state, relayer_max_images=0)
    assert found.relayer_skipped and not found.skipped
    assert found.advice and all(a.kind != RELAYER for a in found.advice)
    held, _ = held_arrays(state)
    none = fleet_advice(state, max_images=held.n_images - 1)
    assert none.skipped and none.advice == () and none.images == held.n_images
