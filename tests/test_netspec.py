"""The layer grammar: shapes and parameter counts exactly as Keras has them, one-line errors otherwise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.training.spec import PRESETS, SpecError, build_model, normalise, parse_spec, plan, total_params


def test_convnetjs_preset_has_5994_parameters_with_the_lessons_arithmetic():
    rows = plan(PRESETS["ConvNetJS-sized (5,994 parameters)"])
    assert total_params(rows) == 5994
    assert [r.shape for r in rows] == [(28, 28, 8), (14, 14, 8), (14, 14, 16), (4, 4, 16), (256,), (10,)]
    assert rows[0].params_math == "5·5·1·8 + 8 = 208"
    assert rows[3].shape_math == "⌊(14 + 2·0 − 3)/3⌋ + 1 = 4"


def test_mlp_preset_is_the_lessons_784_128_10():
    rows = plan(PRESETS["Lesson's MLP (784-128-10)"])
    assert total_params(rows) == 101_770
    assert [r.kind for r in rows] == ["flatten", "dense", "softmax"]


def test_bundled_preset_counts_as_the_shipped_cnn():
    import json

    from model.data.paths import RESOURCES

    card = json.loads((RESOURCES / "mnist_cnn.json").read_text())
    assert total_params(plan(PRESETS["Bundled CNN (without batch norm)"])) == card["total_params"]


def test_defaults_stride_one_valid_and_max_pooling():
    (conv,) = parse_spec("conv 4 3")
    assert (conv.stride, conv.padding) == (1, "valid")
    (pool,) = parse_spec("pool 2")
    assert (pool.pooling, pool.stride) == ("max", 2)
    assert plan("conv 4 3 stride 2 same")[0].shape == (14, 14, 4)
    assert plan("conv 4 4 stride 3")[0].shape_math == "⌊(28 + 2·0 − 4)/3⌋ + 1 = 9"


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("", "empty spec"),
        ("   ", "empty spec"),
        ("conv 8", "item 1 'conv 8': missing kernel size"),
        ("conv 8 3, banana 4", "item 2 'banana 4': unknown layer 'banana'"),
        ("conv 8 3.5", "kernel size '3.5' is not a whole number"),
        ("conv -8 3", "filters -8 must be at least 1"),
        ("conv 8 3 stride 0", "stride 0 must be at least 1"),
        ("conv 8 3 stride", "missing stride"),
        ("conv 8 3 sideways", "unexpected 'sideways'"),
        ("pool", "missing pool size"),
        ("pool 2 median", "unexpected 'median'"),
        ("dense", "missing units"),
        ("dense 0", "units 0 must be at least 1"),
        ("dropout 1", "rate 1 must be in [0, 1)"),
        ("dropout -0.1", "must be in [0, 1)"),
        ("dropout nan", "must be in [0, 1)"),
        ("dropout", "missing rate"),
        ("dropout half", "rate 'half' is not a number"),
        ("gap 2", "unexpected '2'"),
        ("conv 8 3,,pool 2", "item 2 is empty"),
        ("conv 8 29", "item 1 'conv 8 29': kernel 29×29 is larger than its 28×28 input: (28 + 2·0 − 29)/1 + 1 = 0 < 1"),
        ("conv 8 5, pool 2, conv 8 5, pool 2, conv 8 5", "item 5 'conv 8 5': kernel 5×5 is larger than its 4×4 input"),
        (
            "pool 2, pool 2, pool 2, pool 2, pool 2",
            "item 5 'pool 2': pool 2×2 is larger than its 1×1 input: ⌊(1 − 2)/2⌋ + 1 = 0 < 1",
        ),
        ("dense 16, conv 4 3", "item 2 'conv 4 3': needs a 3-D input"),
        ("gap, gap", "item 2 'gap': needs a 3-D input"),
        ("dense 4096, dense 4096, dense 4096, dense 4096", "more than 50,000,000"),
    ],
)
def test_impossible_or_malformed_specs_are_one_line_naming_the_item(spec, needle):
    with pytest.raises(SpecError) as err:
        plan(spec)
    message = str(err.value)
    assert needle in message
    assert "\n" not in message


def test_normalise_keeps_the_meaning():
    assert normalise("Conv 8  5 SAME,pool 2") == "conv 8 5 same, pool 2"
    assert total_params(plan(normalise("Conv 8  5 SAME,pool 2"))) == total_params(plan("conv 8 5 same, pool 2"))


_item = st.one_of(
    st.builds(
        lambda f, k, s, p: f"conv {f} {k}" + (f" stride {s}" if s != 1 else "") + (f" {p}" if p else ""),
        st.integers(1, 12),
        st.integers(1, 9),
        st.integers(1, 3),
        st.sampled_from(["", "same", "valid"]),
    ),
    st.builds(lambda n, how: f"pool {n}" + (f" {how}" if how else ""), st.integers(1, 4), st.sampled_from(["", "max", "avg"])),
    st.builds(lambda u: f"dense {u}", st.integers(1, 40)),
    st.builds(lambda r: f"dropout {r}", st.sampled_from([0, 0.1, 0.5, 0.75])),
    st.just("gap"),
)
_spec = st.lists(_item, min_size=1, max_size=6).map(", ".join)


@given(st.text(max_size=60))
def test_any_text_is_a_network_or_a_spec_error(text):
    try:
        rows = plan(text)
    except SpecError as exc:
        assert "\n" not in str(exc)
    else:
        assert rows[-1].shape == (10,)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_spec)
def test_shapes_and_parameters_are_exactly_keras(spec):
    try:
        rows = plan(spec)
    except SpecError as exc:
        if "is larger than its" in str(exc) and "conv" in str(exc) and "same" not in str(exc):
            # Keras must refuse the same network (a valid kernel larger than its input)
            import keras
            from keras import layers

            with pytest.raises(ValueError):
                _keras_reference(spec, keras, layers)
        return
    model = build_model(spec)
    assert model.count_params() == total_params(rows)
    assert [r.name for r in rows] == [layer.name for layer in model.layers]
    for row, layer in zip(rows, model.layers, strict=True):
        assert tuple(layer.output.shape[1:]) == row.shape, (spec, row)
        assert layer.count_params() == row.params, (spec, row)


def _keras_reference(spec: str, keras, layers):
    """The same network written by hand in Keras, for the refusal cases."""
    stack = [keras.Input((28, 28, 1))]
    for item in parse_spec(spec):
        if item.kind == "conv":
            stack.append(layers.Conv2D(item.size, item.kernel, strides=item.stride, padding=item.padding))
        elif item.kind == "pool":
            stack.append(layers.MaxPooling2D(item.size))
        elif item.kind == "dense":
            stack.append(layers.Dense(item.size))
        elif item.kind == "gap":
            stack.append(layers.GlobalAveragePooling2D())
    return keras.Sequential(stack)
