from helpers import checksum, count_words, roundtrip


def test_count_words(corpus):
    counts = count_words(corpus)
    assert counts


def test_count_words_head(corpus, head_m):
    assert count_words(corpus[:head_m])


def test_corpus_roundtrip(corpus):
    assert roundtrip(corpus[:1500]) == corpus[:1500]


def test_corpus_checksum(corpus):
    assert checksum(corpus) >= 0


def test_join(corpus, sep):
    assert len(sep.join(corpus)) > 1000
