"""Depth-dependent recursion: a recursive-descent evaluator of nested arithmetic, where
the cost of a `term` or `atom` depends on how deep in the expression it is."""
import sys


def make(depth):
    if depth == 0:
        return "7"
    inner = make(depth - 1)
    return "(%s+%s*3-(%s))" % (inner, "2", "1" if depth % 2 else inner)


class Parser(object):
    def __init__(self, text):
        self.text = text
        self.pos = 0

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expr(self):
        v = self.term()
        while self.peek() in ("+", "-"):
            op = self.text[self.pos]
            self.pos += 1
            r = self.term()
            v = v + r if op == "+" else v - r
        return v

    def term(self):
        v = self.atom()
        while self.peek() == "*":
            self.pos += 1
            v *= self.atom()
        return v

    def atom(self):
        if self.peek() == "(":
            self.pos += 1
            v = self.expr()
            self.pos += 1
            return v
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        return int(self.text[start:self.pos])


def main(n):
    exprs = [make(d) for d in (2, 5, 9)]
    for _ in range(n):
        for e in exprs:
            Parser(e).expr()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
