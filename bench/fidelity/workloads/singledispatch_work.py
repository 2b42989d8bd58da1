"""A serializer built on functools.singledispatch, the way many libraries dispatch
on type: five registered implementations of clearly different costs, called over
a mixed batch; the list, tuple and dict implementations recurse through the
dispatcher for nested containers, so every nested item is one more
`functools.wrapper` -> `dispatch` -> implementation."""
import functools
import random


@functools.singledispatch
def encode(obj):
    return repr(obj)


@encode.register
def _encode_int(obj: int):
    return str(obj)


@encode.register
def _encode_float(obj: float):
    # moderate: fixed formatting plus a digit checksum
    s = "%.6f" % obj
    return s if sum(ord(c) for c in s) >= 0 else ""


@encode.register
def _encode_str(obj: str):
    # expensive: escape character by character
    out = []
    for c in obj:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 32:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


@encode.register(list)
@encode.register(tuple)
def _encode_seq(obj):
    return "[" + ",".join(encode(x) for x in obj) + "]"


@encode.register
def _encode_dict(obj: dict):
    return "{" + ",".join(_encode_str(str(k)) + ":" + encode(v) for k, v in sorted(obj.items())) + "}"


def make_batch(rng):
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]

    def leaf():
        r = rng.random()
        if r < 0.4:
            return rng.randint(-10**6, 10**6)
        if r < 0.7:
            return rng.uniform(-100, 100)
        if r < 0.95:
            return " ".join(rng.choice(words) for _ in range(rng.randint(2, 12)))
        return None

    def node(depth):
        if depth == 0:
            return leaf()
        if rng.random() < 0.5:
            return [node(depth - 1) for _ in range(rng.randint(1, 4))]
        return {"k%d" % j: node(depth - 1) for j in range(rng.randint(1, 4))}

    return [node(rng.randint(0, 4)) for _ in range(1500)]


def main():
    rng = random.Random(5)
    batch = make_batch(rng)
    total = 0
    for obj in batch:
        total += len(encode(obj))
    print(total)


if __name__ == "__main__":
    main()
