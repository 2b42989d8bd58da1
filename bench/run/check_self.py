"""Checks that the stack sampler of `flameprof run --save-stacks` stays out of cProfile's
result and that its stacks use cProfile's keys.

    python3 bench/run/check_self.py [--flameprof target/debug/flameprof] [PYTHON...]

For each interpreter (default: every pyenv 3.x), runs a deterministic CPU-bound script
(many small calls, a sort key, a generator, an exception) three times with the sampler
at a 0.2 ms interval and once without, and checks:

- every function's call counts, and every caller->callee count, are the same with the
  sampler as without (on 3.12+ cProfile hears every thread through sys.monitoring: a
  single call of the sampler's would add a builtin, or an edge from whatever the main
  thread was running, or unbalance the profiler's stack);
- no key of the .prof comes from the bootstrap (`<string>`) or names the sampler;
- every frame of the stacks file is a key of the .prof.
"""
import glob
import marshal
import os
import subprocess
import sys
import tempfile

SCRIPT = r'''
import sys
def leaf(n):
    return n + 1
def gen(n):
    for i in range(n):
        yield leaf(i)
def mid(n):
    t = 0
    for i in range(n):
        t += leaf(i)
    try:
        raise KeyError(n)
    except KeyError:
        pass
    return t + sum(gen(10))
def main():
    for _ in range(3000):
        mid(50)
    sorted(range(2000), key=lambda x: -leaf(x))
    print("out")
main()
'''


def counts(prof):
    stats = marshal.load(open(prof, "rb"))
    out = {}
    for key, (cc, nc, tt, ct, callers) in stats.items():
        out[key] = nc
        for caller, v in callers.items():
            out[(caller, key)] = v[1] if isinstance(v, tuple) else v
    return stats, out


def folded_keys(path):
    keys = set()
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        stack = line.rsplit(" ", 1)[0]
        for frame in stack.split(";"):
            f, rest = frame.split(":", 1)
            line_no, name = rest.split(":", 1)
            keys.add((f, int(line_no), name))
    return keys


def main():
    args = sys.argv[1:]
    flameprof = "target/debug/flameprof"
    if args[:1] == ["--flameprof"]:
        flameprof, args = args[1], args[2:]
    pythons = args or sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "det.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        for py in pythons:
            base_prof = os.path.join(tmp, "base.prof")
            subprocess.run([flameprof, "run", "--python", py, "--save-prof", base_prof, "-o", os.devnull, script],
                           check=True, stdout=subprocess.DEVNULL)
            _, base = counts(base_prof)
            problems = []
            nsamples = []
            for i in range(3):
                prof = os.path.join(tmp, "s%d.prof" % i)
                stacks = os.path.join(tmp, "s%d.folded" % i)
                env = dict(os.environ, FLAMEPROF_SAMPLE_INTERVAL="0.0002")
                subprocess.run([flameprof, "run", "--python", py, "--save-prof", prof, "--save-stacks", stacks,
                                "-o", os.devnull, script], check=True, stdout=subprocess.DEVNULL, env=env)
                stats, got = counts(prof)
                if got != base:
                    diff = sorted(set(got.items()) ^ set(base.items()), key=repr)
                    problems.append("counts differ: %r" % diff[:6])
                own = [k for k in stats if k[0] == "<string>" or "sampler" in k[2] or "_flameprof" in k[2]]
                if own:
                    problems.append("bootstrap keys in the .prof: %r" % own)
                extra = folded_keys(stacks) - set(stats)
                if extra:
                    problems.append("stack frames not in the .prof: %r" % sorted(extra)[:6])
                for line in open(stacks):
                    if line.startswith("# samples:"):
                        nsamples.append(int(line.split()[2].rstrip(",")))
            version = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                     stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
            print("%-5s %s (samples per run: %s)" % (version, "ok" if not problems else "FAIL", nsamples))
            for p in problems:
                print("      " + p)
            failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
