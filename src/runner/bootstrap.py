# Run by `flameprof run` as
# `python -c <this file> OUT CPU MODE STACKS RECORDER TARGET [ARGS...]`.
#
# Profiles a script (MODE=script) or a module (MODE=module), the way
# `python script.py` / `python -m module` would run it, and writes what it measured
# however the program ends: normally, sys.exit(N), an exception, or Ctrl-C. That is
# cProfile's stats in OUT, unless STACKS and RECORDER are given: then the library
# RECORDER records every call path in cProfile's place (see _flameprof_recorder) into
# STACKS, from which flameprof derives the stats; where it cannot be loaded, cProfile
# profiles and a thread samples the stacks beside it into STACKS (_flameprof_sampler).
# Unlike `python -m cProfile`, the program's exit status is kept (cProfile swallows
# SystemExit), and CPU=1 measures process CPU time (time.process_time) instead of
# wall-clock time.
#
# Only this process writes OUT: a child the program forks (os.fork, multiprocessing's
# fork start method) runs this same code when it returns or exits, and must neither
# overwrite the parent's stats nor fail on a directory flameprof has already removed.
# OUT appears whole or not at all (written beside it, then renamed), readable by the
# owner only; so does STACKS.
#
# Kept compatible with every Python 3 (tested from 3.6) and 2.7; no f-strings.
import sys


def _flameprof_write(path, data, owner):
    import os

    part = "%s.%d.part" % (path, owner)
    f = os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
    try:
        f.write(data)
    finally:
        f.close()
    getattr(os, "replace", os.rename)(part, path)


def _flameprof_save(prof, out, owner, keeper=None):
    """Writes cProfile's stats to `out`, and the stacks `keeper` kept (sampled beside
    cProfile, or recorded in its place: then the stats are derived from them, by
    flameprof, and only they are written)."""
    import os
    import marshal

    if os.getpid() != owner:
        return
    if keeper is not None:
        keeper.stop()
    stats = None
    if prof is not None:
        prof.create_stats()
        stats = prof.stats
        _flameprof_write(out, marshal.dumps(stats), owner)
    if keeper is not None:
        keeper.save(stats, owner)


def _flameprof_frame(key):
    """A function key as a frame of folded stacks: `file:line:name`, `;` made `,` and
    control characters escaped."""
    text = "%s:%d:%s" % key
    out = []
    for c in text.replace(";", ","):
        o = ord(c)
        if o < 0x20 or 0x7F <= o < 0xA0:
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(c, "\\x%02x" % o))
        else:
            out.append(c)
    return "".join(out)


def _flameprof_label(fn, self):
    """A builtin's name as cProfile keys it (`<built-in method builtins.len>`,
    `<method 'append' of 'list' objects>`): called by the recorder on the first call of
    each builtin, with the builtin's m_self (`fn` itself for none), which is what
    cProfile reads (`__self__` is None for a static method's); or, from 3.12, with a
    method descriptor and the object it is called on, bound here as cProfile binds it."""
    if type(fn) is type(list.append):  # a method descriptor (3.12+), as cProfile binds it
        fn = fn.__get__(self, type(self))
    name = fn.__name__
    module = getattr(fn, "__module__", None)
    if self is fn:
        if module is not None and not isinstance(module, str):
            module = getattr(module, "__name__", None)
        if isinstance(module, str) and module not in ("builtins", "__builtin__"):
            return "<%s.%s>" % (module, name)
        return "<%s>" % name
    # The attribute of that name found first along the type's MRO, without calling a
    # descriptor, as cProfile looks it up.
    for klass in type(self).__mro__:
        attrs = getattr(klass, "__dict__", {})
        if name in attrs:
            try:
                return repr(attrs[name])
            except Exception:
                break
    if sys.version_info >= (3,) and isinstance(module, str):
        return "<built-in method %s.%s>" % (module, name)
    return "<built-in method %s>" % name


class _flameprof_recorder(object):
    """Records every call path of the program, in cProfile's place,
    with the call-path recorder (runner/recorder.c, a shared library at `library`):
    per path from the root, its calls and its own time, in the profile's clock (wall
    or CPU). It sees the calls cProfile would see, as cProfile reads them: before 3.12
    as the profile function of the thread running the program, and of every thread it
    starts (`follow_threads`); from 3.12 as a sys.monitoring tool, registered by `load`
    (before the program: the registration is calls that would be recorded) with
    callbacks that record only once started, the events of every thread as cProfile's
    tool does. Each thread's calls are on their own paths. It
    starts right before the program and stops right after it, so the paths start
    where cProfile's calls would (the builtin exec of a script, runpy's run_module)
    and hold no frame of this bootstrap. flameprof derives cProfile's stats from them.

    `load` fails (returns False) where ctypes or the library cannot be loaded, where
    sys.monitoring has no tool id free, and under an interpreter whose objects have
    the debug header (Py_TRACE_REFS), whose layout the recorder does not read."""

    def __init__(self, path, library, cpu):
        self.path = path
        self.library = library
        self.cpu = cpu
        self.lib = None
        self.tool = None
        self.callbacks = []
        self.functions = []
        self.all_threads = False
        # [recording started]
        self.started = [False]

    def load(self):
        if hasattr(sys, "getobjects"):  # Py_TRACE_REFS
            return False
        try:
            import ctypes

            lib = ctypes.PyDLL(self.library)
            api = ctypes.pythonapi
            p = ctypes.py_object
            void_p = ctypes.c_void_p
            functions = ["PyEval_SetProfile", "Py_IncRef", "Py_DecRef"]
            pointers = [ctypes.cast(getattr(api, n), void_p) for n in functions]
            frame_code = getattr(api, "PyFrame_GetCode", None)  # 3.9+
            pointers.append(ctypes.cast(frame_code, void_p) if frame_code is not None else void_p())
            for n in ("PyObject_CallFunctionObjArgs", "PyList_Append", "PyErr_Clear", "PyThreadState_Get"):
                pointers.append(ctypes.cast(getattr(api, n), void_p))
            monitoring = getattr(sys, "monitoring", None)
            if monitoring is not None:
                pointers += [ctypes.cast(api.PyCFunction_NewEx, void_p), ctypes.cast(api.PyType_IsSubtype, void_p)]
                pointers += [void_p(id(o)) for o in (None, monitoring.MISSING, type(len), type(list.append))]

            class Api(ctypes.Structure):
                _fields_ = [("f%d" % i, void_p) for i in range(len(pointers))]

            self.api = Api(*pointers)
            lib.flameprof_start.argtypes = [ctypes.POINTER(Api), p, p, ctypes.c_int, ctypes.c_int]
            lib.flameprof_start.restype = ctypes.c_int
            lib.flameprof_failed.restype = ctypes.c_int
            lib.flameprof_write_paths.argtypes = [ctypes.c_int]
            lib.flameprof_write_paths.restype = ctypes.c_int
            self.byref = ctypes.byref
            # Every thread is recorded, each thread's calls on their own paths, where a
            # GIL keeps the threads' events apart (not in a free-threaded build
            # without it).
            gil = getattr(sys, "_is_gil_enabled", None)
            self.all_threads = gil is None or gil()
            lib.flameprof_record_all_threads(1 if self.all_threads else 0)
            lib.flameprof_join_thread.restype = None
            if monitoring is None and self.all_threads:
                self.follow_threads(lib.flameprof_join_thread)
            if monitoring is not None:
                lib.flameprof_use(ctypes.byref(self.api))
                lib.flameprof_callback.argtypes = [ctypes.c_int]
                lib.flameprof_callback.restype = p
                self.monitor(monitoring, [lib.flameprof_callback(i) for i in range(4)])
        except Exception:
            try:
                self.unmonitor()
            except Exception:
                pass
            return False
        self.lib = lib
        return True

    def follow_threads(self, join):
        """Before 3.12: a thread the program starts (threading's, or _thread's own)
        calls `join` first thing, which makes the recorder its profile function too.
        _thread.start_new_thread is wrapped before the program imports threading,
        which takes it then; where threading is imported already, its copy too. The
        wrapper's own frame is not recorded: the recorder starts within it."""
        try:
            import _thread as thread
        except ImportError:
            import thread
        original = thread.start_new_thread

        def start_new_thread(function, args, kwargs=None):
            def joined(*args, **kwargs):
                join()
                return function(*args, **kwargs)

            return original(joined, args, {} if kwargs is None else kwargs)

        thread.start_new_thread = start_new_thread
        threading = sys.modules.get("threading")
        if threading is not None and getattr(threading, "_start_new_thread", None) is original:
            threading._start_new_thread = start_new_thread

    def monitor(self, monitoring, callbacks):
        """From 3.12: registers the recorder's callbacks as a sys.monitoring tool, for
        the events cProfile's own tool reads."""
        free = [i for i in (4, 3, 1, 0) if monitoring.get_tool(i) is None]
        if not free:
            raise RuntimeError("no sys.monitoring tool id free")
        monitoring.use_tool_id(free[0], "flameprof")
        self.tool = free[0]
        start, stop, call, call_end = callbacks
        events = monitoring.events
        self.callbacks = [
            (events.PY_START, start), (events.PY_RESUME, start), (events.PY_THROW, start),
            (events.PY_RETURN, stop), (events.PY_YIELD, stop), (events.PY_UNWIND, stop),
            (events.CALL, call), (events.C_RETURN, call_end), (events.C_RAISE, call_end),
        ]
        mask = 0
        for event, callback in self.callbacks:
            monitoring.register_callback(self.tool, event, callback)
            mask |= event
        monitoring.set_events(self.tool, mask)

    def unmonitor(self):
        if self.tool is None:
            return
        monitoring = sys.monitoring
        monitoring.set_events(self.tool, 0)
        for event, _ in self.callbacks:
            monitoring.register_callback(self.tool, event, None)
        monitoring.free_tool_id(self.tool)
        self.tool = None

    def start_args(self):
        """The arguments of the library's flameprof_start: made beforehand, as the
        bootstrap calls it right before the program runs, where a call would be
        recorded."""
        profile_function = 1 if sys.version_info < (3, 12) else 0
        return (self.byref(self.api), self.functions, _flameprof_label, 1 if self.cpu else 0, profile_function)

    def stop(self):
        """Stops recording, and leaves sys.monitoring."""
        if self.lib is not None:
            self.lib.flameprof_stop()
        self.unmonitor()

    def forked(self):
        # A forked child records nothing: its copy of the paths is never written.
        self.stop()
        self.started[0] = False

    def save(self, stats, owner):
        """Writes the paths (formats/call-paths): the functions, then the paths.
        (`stats` is None: the recorder ran in cProfile's place.)"""
        import os

        self.stop()
        if not self.started[0] or self.lib.flameprof_failed():
            return
        lines = [
            "# flameprof call paths 1",
            "# recorded beside cProfile by flameprof run; own times in nanoseconds",
            "# mode: %s" % ("cpu" if self.cpu else "wall"),
        ]
        for f in self.functions:
            if isinstance(f, str) or (sys.version_info < (3,) and isinstance(f, basestring)):  # noqa: F821
                lines.append("f " + _flameprof_frame(("~", 0, f)))
            else:
                lines.append("f " + _flameprof_frame((f.co_filename, f.co_firstlineno, f.co_name)))
        head = ("\n".join(lines) + "\n")
        if not isinstance(head, bytes):
            head = head.encode("utf-8", "surrogateescape")
        part = "%s.%d.part" % (self.path, owner)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            while head:
                head = head[os.write(fd, head):]
            ok = self.lib.flameprof_write_paths(fd) == 0
        finally:
            os.close(fd)
        if ok:
            getattr(os, "replace", os.rename)(part, self.path)
        else:
            os.unlink(part)


class _flameprof_sampler(object):
    """Samples the stack of one thread (the one running the program) from a thread of
    its own, every INTERVAL seconds at best, and adds up per distinct stack the time
    (the profile's timer: wall or CPU) since the previous sample.

    The stacks are keyed as cProfile keys functions, (co_filename, co_firstlineno,
    co_name), root first; the root is what cProfile has as the root: the builtin exec
    for a script (whose key is taken from the stats), runpy's run_module for a module;
    this bootstrap's own frames are never in a stack. Builtins have no frame: a sample
    taken in one ends at the Python function that called it, and a Python function a
    builtin called back (a sort key, a map function) follows its Python caller there.

    The sampler must never be seen by cProfile. Before 3.12 cProfile profiles only the
    thread that enabled it. From 3.12 it uses sys.monitoring, which reports the calls
    of every thread to one profiler stack; so the sampling loop starts before the
    profiler is enabled, ends after it is disabled, and in between makes no call that
    sys.monitoring reports: the sleep, the frames and the clock come from C iterators
    (map, starmap, zip call them from C, which raises no CALL event) and the rest is
    attribute, subscript and dict operations. Nor does it allocate per sample beyond
    the frames dict: the stacks are a trie of dicts, top frame first, keyed by code
    object.

    It runs on a _thread thread, so that threading.enumerate() and
    threading.active_count() do not see it, and a forked child does not sample."""

    def __init__(self, path, timer, cpu, tid, stop_code, interval):
        self.path = path
        self.cpu = cpu
        self.timer = timer
        self.tid = tid
        self.stop_code = stop_code
        self.interval = interval
        self.trie = {}
        # [stop asked, samples taken, the program is running]
        self.state = [False, 0, False]
        # A script's key: its callers in the stats name the builtin exec that ran it,
        # which starts every stack as it starts cProfile's.
        self.script_key = None
        self.started = self.stopped = None

    def start(self):
        try:
            import _thread as thread
        except ImportError:  # Python 2
            import thread
        self.done = thread.allocate_lock()
        self.done.acquire()
        ready = thread.allocate_lock()
        ready.acquire()
        thread.start_new_thread(self.run, (ready,))
        # Returns once the thread is in its loop: nothing it does after that is seen
        # by sys.monitoring.
        ready.acquire()

    def run(self, ready):
        import itertools
        import sys
        import time

        imap = getattr(itertools, "imap", map)
        izip = getattr(itertools, "izip", zip)
        starmap = itertools.starmap
        repeat = itertools.repeat
        ticks = izip(
            imap(time.sleep, repeat(self.interval)),
            starmap(sys._current_frames, repeat(())),
            starmap(self.timer, repeat(())),
        )
        state = self.state
        tid = self.tid
        stop_code = self.stop_code
        trie = self.trie
        last = self.timer()
        self.started = last
        samples = 0
        try:
            ready.release()
            for _, frames, now in ticks:
                if state[0]:
                    break
                weight = now - last
                last = now
                if tid not in frames or not state[2]:
                    continue
                node = trie
                f = frames[tid]
                frames = None
                while f is not None:
                    code = f.f_code
                    if code is stop_code:
                        break
                    if code in node:
                        node = node[code]
                    else:
                        child = {}
                        node[code] = child
                        node = child
                    f = f.f_back
                else:
                    continue  # not under the bootstrap (yet, or any more)
                f = None
                if node is trie:
                    continue  # in the bootstrap itself, between the program and the save
                samples += 1
                if None in node:
                    node[None] += weight
                else:
                    node[None] = weight
        finally:
            state[1] = samples
            self.stopped = last
            self.done.release()

    def stop(self):
        """Ends the sampling (after the profiler is disabled) and waits for it."""
        if self.state[0]:
            return
        self.state[0] = True
        self.done.acquire()
        self.done.release()

    def forked(self):
        # A forked child has no sampling thread; its copy of the stacks is never written.
        self.state[0] = True

    def save(self, stats, owner):
        _flameprof_write(self.path, self.folded(stats), owner)

    def folded(self, stats):
        """The stacks as folded text (frames `file:line:name`, root first, joined by `;`,
        a space, then microseconds), as `flameprof -f log` writes them."""
        prefix = []
        if self.script_key is not None:
            callers = stats.get(self.script_key, (0, 0, 0, 0, {}))[4]
            builtins = sorted(c for c in callers if c[0] == "~")
            # Python 3: `<built-in method builtins.exec>`; 2.7: `<exec>`? taken as written.
            prefix = [_flameprof_frame(builtins[0] if builtins else ("~", 0, "<built-in method builtins.exec>"))]
        lines = []
        totals = []

        def walk(node, path):
            for code, child in node.items():
                if code is None:
                    continue
                key = (code.co_filename, code.co_firstlineno, code.co_name)
                walk(child, [_flameprof_frame(key)] + path)
            if None in node:
                totals.append(node[None])
                lines.append((prefix + path, node[None]))

        walk(self.trie, [])
        lines.sort()
        out = [
            "# flameprof run: stacks sampled beside cProfile; values are microseconds",
            "# samples: %d, sampled time: %.6f s, interval: %g s"
            % (self.state[1], sum(totals), self.interval),
            "# mode: %s" % ("cpu" if self.cpu else "wall"),
        ]
        carry = 0.0
        for path, seconds in lines:
            exact = seconds * 1e6 + carry
            value = int(round(exact))
            carry = exact - value
            if value > 0 and path:
                out.append("%s %d" % (";".join(path), value))
        text = "\n".join(out) + "\n"
        if isinstance(text, bytes):  # Python 2
            return text
        return text.encode("utf-8", "surrogateescape")


def _flameprof_main():
    import os
    import cProfile

    owner = os.getpid()
    out, cpu, mode, stacks, library, target = sys.argv[1:7]
    args = sys.argv[7:]

    import time

    sampler = recorder = prof = None
    if stacks and library:
        # The recorder in cProfile's place: the stats follow from its paths.
        recorder = _flameprof_recorder(stacks, library, cpu == "1")
        if not recorder.load():
            recorder = None
    if recorder is None:
        if cpu == "1":
            timer = getattr(time, "process_time", None) or time.clock
            prof = cProfile.Profile(timer)
        else:
            timer = getattr(time, "perf_counter", None) or time.time
            prof = cProfile.Profile()
    if stacks and recorder is None:
        try:
            import _thread as thread
        except ImportError:  # Python 2
            import thread
        # FLAMEPROF_SAMPLE_INTERVAL (seconds) is for measuring the sampler (bench/run).
        interval = float(os.environ.get("FLAMEPROF_SAMPLE_INTERVAL") or 0.001)
        sampler = _flameprof_sampler(
            stacks, timer, cpu == "1", thread.get_ident(), _flameprof_main.__code__, interval
        )

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
        if sampler is not None:
            sampler.script_key = (code.co_filename, code.co_firstlineno, code.co_name)

    register_at_fork = getattr(os, "register_at_fork", None)  # Python 3.7+
    if register_at_fork is not None:
        # A forked child is not profiled: nothing of it would be kept.
        if prof is not None:
            register_at_fork(after_in_child=prof.disable)
        if sampler is not None:
            register_at_fork(after_in_child=sampler.forked)
        if recorder is not None:
            register_at_fork(after_in_child=recorder.forked)
    # Between starting the profiler and running the program, and between the program
    # and stopping the profiler, no call that cProfile or the recorder would record:
    # attribute, subscript and comparison operations, and ctypes calls, which no
    # profiler sees.
    if recorder is not None:
        start_recording, start_args = recorder.lib.flameprof_start, recorder.start_args()
        stop_recording = recorder.lib.flameprof_stop
    keeper = recorder or sampler

    if sampler is not None:
        if sys.version_info >= (3, 12):
            # From 3.12 a fork warns when the process has more than one thread, and the
            # sampler is one: the warning is the sampler's, not the program's, so it is
            # not shown (a program with threads of its own loses it too).
            import warnings

            warnings.filterwarnings(
                "ignore",
                message=r"This process \(pid=\d+\) is multi-threaded, use of \w+\(\) may lead to deadlocks",
                category=DeprecationWarning,
            )
        sampler.start()
    if recorder is not None:
        recorder.started[0] = start_recording(*start_args) == 0
    else:
        prof.enable()
    if sampler is not None:
        sampler.state[2] = True
    try:
        try:
            if code is not None:
                exec(code, globs)
            else:
                runpy.run_module(target, run_name="__main__", alter_sys=True)
        finally:
            # The profiler stops first, however the program ended, before any call it
            # would record.
            if recorder is not None:
                stop_recording()
            else:
                prof.disable()
            if sampler is not None:
                # A sample the sampling thread takes from here on shows this
                # bootstrap, and is then seen to be dropped.
                sampler.state[2] = False
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        # Like an uncaught exception in the program: its traceback (without this
        # bootstrap's frame) through sys.excepthook, then status 1.
        kind, value, tb = sys.exc_info()
        _flameprof_save(prof, out, owner, keeper)
        out = None
        tb = tb.tb_next if tb is not None else None
        if hasattr(value, "with_traceback"):  # Python 3 prints value.__traceback__
            value = value.with_traceback(tb)
        sys.excepthook(kind, value, tb)
        sys.exit(1)
    finally:
        # Saved while this bootstrap's module, whose globals the save needs, is alive.
        if out is not None:
            _flameprof_save(prof, out, owner, keeper)
        bootstrap = None


_flameprof_main()
