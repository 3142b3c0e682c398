import json

from hypothesis import given, settings
from hypothesis import strategies as st

from infill.generation.cache import GenerationCache, run_key

BASE = {"model": "tiny-qwen2-fim", "weights": "abc", "backend": "ar", "dtype": "float32",
        "prompt_format": "qwen-fim@1", "settings": {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 64},
        "postprocess": "first-line-v1", "seed": 0, "benchmark": "humaneval-single-line@1", "data_sha256": "d"}


def test_round_trip_and_append(tmp_path):
    cache = GenerationCache(tmp_path, BASE)
    assert cache.load() == {}
    cache.append({"a": "x\n"})
    cache.append({"b": "y\n"})
    assert GenerationCache(tmp_path, BASE).load() == {"a": "x\n", "b": "y\n"}


def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path):
    cache = GenerationCache(tmp_path, BASE)
    cache.append({"a": "x\n"})
    with open(cache.path, "a") as handle:
        handle.write('{"sample_id": "b", "compl')                 # killed mid-write
    assert cache.load() == {"a": "x\n"}
    cache.append({"c": "z\n"})
    assert cache.load() == {"a": "x\n", "c": "z\n"}
    assert all(json.loads(line) for line in cache.path.read_text().splitlines())


def test_refresh_and_disabled(tmp_path):
    GenerationCache(tmp_path, BASE).append({"a": "x"})
    assert GenerationCache(tmp_path, BASE, refresh=True).load() == {}
    off = GenerationCache(tmp_path, BASE, enabled=False)
    off.append({"q": "q"})
    assert off.load() == {}


def test_a_file_whose_header_differs_is_never_served(tmp_path):
    cache = GenerationCache(tmp_path, BASE)
    cache.append({"a": "x"})
    other = dict(BASE, seed=1)
    cache.path.rename(tmp_path / f"{run_key(other)}.jsonl")       # as if two keys collided
    assert GenerationCache(tmp_path, other).load() == {}


def _leaves(prefix, value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(prefix + (k,), v)
    else:
        yield prefix


def _replace(components, path, new):
    copy = json.loads(json.dumps(components))
    target = copy
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = new
    return copy


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(list(_leaves((), BASE))), st.one_of(st.integers(), st.text(max_size=5), st.floats(
    allow_nan=False)))
def test_any_change_of_any_component_changes_the_key(path, new):
    changed = _replace(BASE, path, new)
    if changed != BASE:
        assert run_key(changed) != run_key(BASE)
