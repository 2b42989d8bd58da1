"""The call-path recorder against the full-stack tracer in one run: both see the same
calls, so what separates the two is the recorder alone, none of the difference between
two runs of a program.

    PYTHON bench/run/same_run_recorded.py PREFIX (-m MODULE | SCRIPT) [ARGS...]

PYTHON (before 3.12) runs ../shared/truth/trace.py on the program in this process, with
flameprof's recorder (the library build.rs built, under target/release/build) started
behind the tracer's profile function (recorder.c's flameprof_start_behind: it calls the
tracer first on every event). Writes PREFIX.truth.folded (the tracer's) and
PREFIX.paths (the recorder's call paths), and prints ../shared/truth/fidelity.py's
tvd_full of the paths' stacks (what flameprof draws) against the truth, both cut at their first `run_module` (for -m) or builtin exec (for a
script) frame, the truth's builtin-method names made cProfile's (truth.py).

e.g. (cd bench/out/work && ../venv/bin/python ../../run/same_run_recorded.py /tmp/pip -m pip list)
"""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TRUTH = os.path.normpath(os.path.join(ROOT, "..", "shared", "truth"))
EXEC = "~:0:<built-in method builtins.exec>"


def bootstrap():
    """The bootstrap's definitions (its last line, which runs it, left out)."""
    source = open(os.path.join(ROOT, "src", "runner", "bootstrap.py")).read()
    namespace = {"__name__": "flameprof_bootstrap"}
    exec(compile(source.rstrip().rsplit("\n", 1)[0], "bootstrap.py", "exec"), namespace)
    return namespace


def paths_as_stacks(path):
    """The call paths' stacks, {stack: own microseconds} (the drawing's input, read
    here as `-f log` would cut deep stacks at its output bound)."""
    functions, stacks, out = [], [""], {}
    for line in open(path, encoding="utf-8"):
        if line.startswith("f "):
            functions.append(line[2:].rstrip("\n"))
        elif line.startswith("n "):
            parent, function, _, own = map(int, line[2:].split())
            stack = (stacks[parent] + ";" if parent else "") + functions[function]
            stacks.append(stack)
            if own:
                out[stack] = out.get(stack, 0.0) + own / 1000.0
    return out


def cut(stacks, module):
    out = {}
    for stack, value in stacks.items():
        frames = stack.split(";")
        for i, f in enumerate(frames):
            if (module and f.rsplit(":", 1)[-1] == "run_module") or (not module and f == EXEC):
                key = ";".join(frames[i:])
                out[key] = out.get(key, 0.0) + value
                break
    return out


def main():
    import ctypes

    args = sys.argv[1:]
    if sys.version_info >= (3, 12):
        sys.exit("before 3.12 only: the recorder follows the tracer's profile function")
    prefix, program = args[0], args[1:]
    library = max(glob.glob(os.path.join(ROOT, "target", "release", "build", "flameprof-*", "out", "recorder.so")),
                  key=os.path.getmtime)
    ns = bootstrap()
    recorder = ns["_flameprof_recorder"](prefix + ".paths", library, False)
    assert recorder.load(), "the recorder did not load"
    start = recorder.lib.flameprof_start_behind
    start.argtypes = list(recorder.lib.flameprof_start.argtypes[:4]) + [ctypes.py_object]
    real = sys.setprofile

    def setprofile(function):
        real(function)
        if function is not None and not recorder.started[0]:
            recorder.started[0] = start(recorder.byref(recorder.api), recorder.functions,
                                        ns["_flameprof_label"], 0, function) == 0

    sys.path.insert(0, TRUTH)
    import trace as tracer  # ../shared/truth/trace.py

    sys.setprofile = setprofile
    sys.argv[:] = ["trace.py", prefix] + program
    try:
        tracer.main()
    finally:
        sys.setprofile = real
    recorder.save(None, os.getpid())

    sys.path.insert(0, HERE)
    from fidelity import score
    from truth import cprofile_labels, read_folded

    recorded = paths_as_stacks(prefix + ".paths")
    truth = cprofile_labels(read_folded(prefix + ".truth.folded"), set(f for s in recorded for f in s.split(";")))
    module = program[0] == "-m"
    print("tvd_full=%.4f" % score(cut(truth, module), cut(recorded, module), os.path.dirname(os.path.abspath(prefix))))


if __name__ == "__main__":
    main()
