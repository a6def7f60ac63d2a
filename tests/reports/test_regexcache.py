"""The on-disk cache of compiled phrase patterns: a hit behaves exactly as ``re.compile``,
and every way the cache can fail falls back to compiling."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radpilot.reports.matcher import build_lexicon, scan, trie_regex
from radpilot.reports.regexcache import SUFFIX, compile_cached
from radpilot.reports.vocabulary import load_vocabulary

WRAP = r"(?<![\w])(?:{body})(?![\w])"
TEXT = "No pleural effusion. Right  pleural-effusion? Pneumothorax; effusions, pleural."


def _source(phrases: list[str]) -> str:
    return WRAP.replace("{body}", trie_regex(sorted(phrases)))


def _spans(p: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in p.finditer(text)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RADPILOT_HOME", str(tmp_path))
    monkeypatch.delenv("RADPILOT_REGEX_CACHE", raising=False)
    return tmp_path / "regex"


def test_a_hit_is_the_pattern_re_compiles(home: Path) -> None:
    phrases = ["pleural effusion", "effusion", "no", "pneumothorax"]
    calls: list[int] = []

    def source() -> str:
        calls.append(1)
        return _source(phrases)

    first = compile_cached("\n".join(phrases), source, re.IGNORECASE)
    again = compile_cached("\n".join(phrases), source, re.IGNORECASE)
    assert len(calls) == 1  # the second came from the file
    assert len(list(home.glob(f"*{SUFFIX}"))) == 1
    plain = re.compile(_source(phrases), re.IGNORECASE)
    assert again.pattern == plain.pattern and again.flags == plain.flags
    assert _spans(again, TEXT) == _spans(first, TEXT) == _spans(plain, TEXT)
    assert _spans(again, TEXT)  # the text holds phrases: the check is not vacuous


def test_the_identity_and_flags_key_the_file(home: Path) -> None:
    compile_cached("a", lambda: _source(["effusion"]))
    compile_cached("b", lambda: _source(["pneumothorax"]))
    compile_cached("a", lambda: _source(["effusion"]), re.IGNORECASE)
    assert len(list(home.glob(f"*{SUFFIX}"))) == 3


@pytest.mark.parametrize(
    "damage",
    [
        "",
        "not json",
        "[1, 2]",
        '["x", 0, "not a list", 0, {}, []]',
        '["x", 0, [999999], 0, {}, [null]]',
    ],
)
def test_a_damaged_file_is_compiled_again_and_replaced(home: Path, damage: str) -> None:
    compile_cached("k", lambda: _source(["effusion"]))
    (path,) = home.glob(f"*{SUFFIX}")
    path.write_text(damage, encoding="utf-8")
    got = compile_cached("k", lambda: _source(["effusion"]))
    assert _spans(got, TEXT) == _spans(re.compile(_source(["effusion"])), TEXT)
    assert path.read_bytes() != damage.encode("utf-8")  # rewritten whole


@pytest.mark.parametrize("cut", [1, 3, 4, 100])
def test_a_file_cut_short_is_compiled_again(home: Path, cut: int) -> None:
    compile_cached("k", lambda: _source(["effusion", "edema"]))
    (path,) = home.glob(f"*{SUFFIX}")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - min(cut, len(whole) - 1)])
    got = compile_cached("k", lambda: _source(["effusion", "edema"]))
    assert _spans(got, TEXT) == _spans(re.compile(_source(["effusion", "edema"])), TEXT)
    assert path.read_bytes() == whole


def test_opcodes_sre_refuses_are_compiled_again(home: Path) -> None:
    compile_cached("k", lambda: _source(["effusion"]))
    (path,) = home.glob(f"*{SUFFIX}")
    head, _, body = path.read_bytes().partition(b"\n")
    path.write_bytes(head + b"\n" + b"\xff" * len(body))  # the right length, nonsense
    got = compile_cached("k", lambda: _source(["effusion"]))
    assert _spans(got, TEXT) == _spans(re.compile(_source(["effusion"])), TEXT)


def test_off_writes_nothing(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADPILOT_REGEX_CACHE", "off")
    got = compile_cached("k", lambda: _source(["effusion"]))
    assert _spans(got, TEXT) == _spans(re.compile(_source(["effusion"])), TEXT)
    assert not home.exists()


def test_an_unwritable_home_still_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("RADPILOT_HOME", str(blocker))  # a file: no directory can go there
    got = compile_cached("k", lambda: _source(["effusion"]))
    assert _spans(got, TEXT) == _spans(re.compile(_source(["effusion"])), TEXT)


def test_the_reader_scans_the_same_from_the_cache(home: Path) -> None:
    cold = build_lexicon(load_vocabulary())
    warm = build_lexicon(load_vocabulary())  # its pattern comes from the file cold wrote
    assert list(home.glob(f"*{SUFFIX}"))
    assert warm.pattern.pattern == cold.pattern.pattern
    assert scan(TEXT, lex=warm) == scan(TEXT, lex=cold) != []
    odd = "İ NO EFFUSION"  # lowered, a longer string: the case-insensitive pattern
    assert scan(odd, lex=warm) == scan(odd, lex=cold) != []


WORDS = st.text(alphabet="abcdez -'/.", min_size=1, max_size=12).map(lambda s: " ".join(s.split()))


# One cache directory for every example (hypothesis reruns the function, not the fixture):
# each example's phrases key their own file, so sharing it changes nothing.
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    phrases=st.lists(WORDS.filter(bool), min_size=1, max_size=12, unique=True),
    text=st.text(alphabet="abcdez -'/.,?\n", max_size=80),
)
def test_any_phrases_match_alike_from_the_cache(home: Path, phrases: list[str], text: str) -> None:
    source = WRAP.replace("{body}", trie_regex(sorted(phrases)))
    identity = "\n".join(sorted(phrases))
    compile_cached(identity, lambda: source)
    hit = compile_cached(identity, lambda: source)
    assert _spans(hit, text) == _spans(re.compile(source), text)


def test_the_cache_keeps_the_most_recently_used(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("radpilot.reports.regexcache.MAX_FILES", 3)
    made: list[Path] = []  # k0, k1, k2's files
    for i in range(3):
        before = set(home.glob(f"*{SUFFIX}"))
        compile_cached(f"k{i}", lambda: _source(["effusion"]))
        (new,) = set(home.glob(f"*{SUFFIX}")) - before
        os.utime(new, (1_000_000 + i, 1_000_000 + i))  # k0 the least recently used
        made.append(new)
    compile_cached("k0", lambda: _source(["effusion"]))  # a hit: k0 is used again
    compile_cached("k3", lambda: _source(["effusion"]))  # a fourth: k1 goes
    left = set(home.glob(f"*{SUFFIX}"))
    assert len(left) == 3 and made[0] in left and made[1] not in left and made[2] in left
