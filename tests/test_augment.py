import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.augment import (D8, IDENTITY, ColorPerm, Compose, DemoOrder, random_color_perm, random_view,
                            views_for_task)
from solver.tasks import Example, Task


@st.composite
def grids(draw):
    h = draw(st.integers(1, 30))
    w = draw(st.integers(1, 30))
    cells = draw(st.lists(st.integers(0, 9), min_size=h * w, max_size=h * w))
    return np.array(cells, dtype=np.uint8).reshape(h, w)


@st.composite
def transforms(draw, n_train=3):
    kind = draw(st.sampled_from(["d8", "colors", "order"]))
    if kind == "d8":
        return D8(draw(st.integers(0, 7)))
    if kind == "colors":
        return ColorPerm(tuple(draw(st.permutations(range(10)))))
    return DemoOrder(tuple(draw(st.permutations(range(n_train)))))


compositions = st.lists(transforms(), min_size=0, max_size=5).map(lambda ps: Compose(tuple(ps)))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(grids(), compositions)
def test_invert_undoes_apply_for_any_composition(g, t):
    out = t.invert(t.apply(g))
    assert out.dtype == np.uint8 and out.shape == g.shape and np.array_equal(out, g)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.lists(grids(), min_size=4, max_size=4), compositions)
def test_task_level_apply_then_invert_recovers_every_output(gs, t):
    task = Task("t", (Example(gs[0], gs[1]), Example(gs[2], gs[3]), Example(gs[1], gs[0])), (Example(gs[2]),))
    aug = t.apply_task(task)
    order = next((p.order for p in reversed(t.parts) if isinstance(p, DemoOrder)), None)
    # Whatever the demo order, the multiset of train pairs maps back onto the original pairs.
    back = sorted((t.invert(e.input).tobytes(), t.invert(e.output).tobytes()) for e in aug.train)
    want = sorted((e.input.tobytes(), e.output.tobytes()) for e in task.train)
    assert back == want
    assert np.array_equal(t.invert(aug.test[0].input), task.test[0].input)
    assert aug.test[0].output is None
    if order is None:
        assert all(np.array_equal(t.invert(a.output), o.output) for a, o in zip(aug.train, task.train))


def test_d8_has_eight_distinct_elements_and_named_inverses():
    g = np.arange(6, dtype=np.uint8).reshape(2, 3)
    images = {D8(k).apply(g).tobytes() + bytes(D8(k).apply(g).shape) for k in range(8)}
    assert len(images) == 8
    assert np.array_equal(D8(1).apply(g), np.rot90(g))
    assert np.array_equal(D8(4).apply(g), g.T)
    assert np.array_equal(D8(5).apply(g), np.flipud(g)) and D8(5).name == "flip_ud"
    assert np.array_equal(D8(7).apply(g), np.fliplr(g)) and D8(7).name == "flip_lr"
    with pytest.raises(ValueError):
        D8(8)


def test_compose_geometry_is_the_combined_d8_element():
    g = np.arange(6, dtype=np.uint8).reshape(2, 3)
    for a in range(8):
        for b in range(8):
            c = Compose((D8(a), ColorPerm(tuple(range(10))), D8(b)))
            assert np.array_equal(c.geometry.apply(g), D8(b).apply(D8(a).apply(g)))
    assert IDENTITY.geometry.name == "identity" and IDENTITY.name == "identity"


def test_color_perm_keeps_background_when_asked():
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert random_color_perm(rng, keep_background=True).perm[0] == 0
    assert any(random_color_perm(rng, keep_background=False).perm[0] != 0 for _ in range(50))
    with pytest.raises(ValueError):
        ColorPerm((0, 0, 1, 2, 3, 4, 5, 6, 7, 8))


def test_demo_order_rejects_a_wrong_length():
    task = Task("t", (Example(np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.uint8)),), ())
    with pytest.raises(ValueError, match="task t"):
        DemoOrder((1, 0)).apply_task(task)


def test_views_start_with_identity_and_cover_the_d8_group():
    task = Task("t", tuple(Example(np.zeros((2, 2), np.uint8), np.ones((2, 2), np.uint8)) for _ in range(3)), ())
    views = views_for_task(task, 8, np.random.default_rng(1))
    assert views[0].is_identity
    assert sorted(v.geometry.k for v in views) == list(range(8))
    v = random_view(np.random.default_rng(2), 3, geometry=False)
    assert v.geometry.k == 0
