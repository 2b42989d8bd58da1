# Run by `flameprof run` as `python -c <this file> OUT CPU MODE TARGET [ARGS...]`.
#
# Profiles a script (MODE=script) or a module (MODE=module) with cProfile, the way
# `python script.py` / `python -m module` would run it, and writes the stats to OUT
# however the program ends: normally, sys.exit(N), an exception, or Ctrl-C.
# Unlike `python -m cProfile`, the program's exit status is kept (cProfile swallows
# SystemExit), and CPU=1 measures process CPU time (time.process_time) instead of
# wall-clock time.
#
# Only this process writes OUT: a child the program forks (os.fork, multiprocessing's
# fork start method) runs this same code when it returns or exits, and must neither
# overwrite the parent's stats nor fail on a directory flameprof has already removed.
# OUT appears whole or not at all (written beside it, then renamed), readable by the
# owner only.
#
# Kept compatible with every Python 3 (tested from 3.6) and 2.7; no f-strings.
import sys


def _flameprof_save(prof, out, owner):
    import os
    import marshal

    if os.getpid() != owner:
        return
    prof.create_stats()
    data = marshal.dumps(prof.stats)
    part = "%s.%d.part" % (out, owner)
    f = os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
    try:
        f.write(data)
    finally:
        f.close()
    getattr(os, "replace", os.rename)(part, out)


def _flameprof_main():
    import os
    import cProfile

    owner = os.getpid()
    out, cpu, mode, target = sys.argv[1:5]
    args = sys.argv[5:]

    if cpu == "1":
        import time

        timer = getattr(time, "process_time", None) or time.clock
        prof = cProfile.Profile(timer)
    else:
        prof = cProfile.Profile()

    code = None
    globs = None
    bootstrap = None
    if mode == "module":
        import runpy

        try:
            import importlib.util

            find_spec = importlib.util.find_spec
        except ImportError:  # Python 2: runpy reports a missing module itself
            find_spec = None
        found = True
        if find_spec is not None:
            try:
                found = find_spec(target) is not None
            except (ImportError, ValueError):
                found = False
        if not found:
            sys.stderr.write("%s: No module named %s\n" % (sys.executable, target))
            sys.exit(1)
        # run_module(alter_sys=True) puts the module's file in sys.argv[0], as -m does;
        # sys.path[0] stays the current directory, as with -m.
        sys.argv[:] = [target] + args
    else:
        try:
            with open(target, "rb") as f:
                source = f.read()
        except (IOError, OSError) as e:
            sys.stderr.write(
                "%s: can't open file %r: [Errno %s] %s\n" % (sys.executable, target, e.errno, e.strerror)
            )
            sys.exit(2)
        try:
            code = compile(source, target, "exec", dont_inherit=True)
        except SyntaxError:
            import traceback

            kind, value = sys.exc_info()[:2]
            traceback.print_exception(kind, value, None)
            sys.exit(1)
        import types

        # A fresh __main__ module, so that pickling and `import __main__` see the
        # program's globals rather than this bootstrap's.
        bootstrap = sys.modules["__main__"]  # keep it alive: Python 2 clears a freed module
        main = types.ModuleType("__main__")
        main.__file__ = target
        main.__package__ = None
        main.__cached__ = None
        sys.modules["__main__"] = main
        globs = main.__dict__
        sys.argv[:] = [target] + args
        sys.path[0] = os.path.dirname(os.path.abspath(target))

    register_at_fork = getattr(os, "register_at_fork", None)  # Python 3.7+
    if register_at_fork is not None:
        # A forked child is not profiled: nothing of it would be kept.
        register_at_fork(after_in_child=prof.disable)

    prof.enable()
    try:
        if code is not None:
            exec(code, globs)
        else:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        # Like an uncaught exception in the program: its traceback (without this
        # bootstrap's frame) through sys.excepthook, then status 1.
        prof.disable()
        kind, value, tb = sys.exc_info()
        _flameprof_save(prof, out, owner)
        out = None
        tb = tb.tb_next if tb is not None else None
        if hasattr(value, "with_traceback"):  # Python 3 prints value.__traceback__
            value = value.with_traceback(tb)
        sys.excepthook(kind, value, tb)
        sys.exit(1)
    finally:
        # Saved while this bootstrap's module, whose globals the save needs, is alive.
        if out is not None:
            prof.disable()
            _flameprof_save(prof, out, owner)
        bootstrap = None


_flameprof_main()
