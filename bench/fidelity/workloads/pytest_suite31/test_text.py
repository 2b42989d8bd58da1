import pytest
from helpers import checksum, count_words, roundtrip


def test_count_words(corpus):
    counts = count_words(corpus)
    assert counts


@pytest.mark.parametrize("m", [300, 600])
def test_count_words_head(corpus, m):
    assert count_words(corpus[:m])


def test_corpus_roundtrip(corpus):
    assert roundtrip(corpus[:1500]) == corpus[:1500]


def test_corpus_checksum(corpus):
    assert checksum(corpus) >= 0


@pytest.mark.parametrize("sep", ["\n", " ", ",", ";"])
def test_join(corpus, sep):
    assert len(sep.join(corpus)) > 1000
