/* The call-path recorder of `flameprof run` (see bootstrap.py, `_flameprof_recorder`).
 *
 * Loaded into the profiled interpreter with ctypes in cProfile's place, it sees the
 * calls and returns cProfile would see, as cProfile reads them, and keeps the tree of
 * call paths: per distinct path from the root, how many times it was entered and its
 * own time. cProfile's stats follow from it exactly (flameprof derives them), and so
 * do the stacks, which a stats file lacks (it keeps caller->callee totals only) and
 * samplers only estimate.
 *
 * Before 3.12 it is the thread's profile function (PyEval_SetProfile). From 3.12 it is
 * a sys.monitoring tool, as cProfile is there: its callbacks are builtins made here
 * (`flameprof_callback`), which the bootstrap registers, reading the events cProfile's
 * tool reads (the legacy profile function would cost a frame object per call).
 *
 * It links against nothing of Python: the bootstrap passes the addresses of the few C
 * API functions it calls (`struct api`), so that one build serves every Python from 2.7
 * on and needs no Python headers. What it reads of Python objects directly is their
 * first pointer-sized words, the same in every version:
 * - a builtin's PyCFunctionObject holds its PyMethodDef after PyObject_HEAD (two
 *   words), which is how cProfile tells builtins apart too, then its m_self;
 * - before 3.9 (no PyFrame_GetCode) a frame holds its code object after
 *   PyObject_VAR_HEAD and f_back (four words).
 * The bootstrap does not load it into an interpreter built with Py_TRACE_REFS, whose
 * object header is two words longer.
 *
 * It records every thread of the program (`flameprof_record_all_threads`), each with
 * its own stack of calls in progress, so that a thread's calls extend its own paths:
 * from 3.12 every thread's events come to the sys.monitoring tool, as to cProfile's;
 * before, a thread the program starts makes the recorder its profile function first
 * thing (`flameprof_join_thread`). It runs with the GIL held: the bootstrap records
 * one thread where there is none. Memory is its own (malloc); if it runs out,
 * recording stops and `flameprof_failed` says so.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct _object PyObject;
typedef int (*tracefunc)(PyObject *, void *, int, PyObject *);

/* The Python C API functions the recorder calls, given by the bootstrap. */
struct api {
    void (*set_profile)(tracefunc, PyObject *);
    void (*incref)(PyObject *);
    void (*decref)(PyObject *);
    /* NULL before 3.9. */
    PyObject *(*frame_code)(void *);
    /* PyObject_CallFunctionObjArgs, with two arguments and the NULL after them. */
    PyObject *(*call_two_args)(PyObject *, PyObject *, PyObject *, void *);
    int (*list_append)(PyObject *, PyObject *);
    void (*clear_error)(void);
    void *(*thread_state)(void);
    /* From 3.12: PyCFunction_NewEx, PyType_IsSubtype, and None, sys.monitoring.MISSING
     * and the types of builtins (PyCFunction_Type) and of their descriptors in a
     * class (PyMethodDescr_Type). */
    PyObject *(*new_builtin)(void *, PyObject *, PyObject *);
    int (*is_subtype)(void *, void *);
    PyObject *none;
    PyObject *missing;
    void *builtin_type;
    void *descriptor_type;
};

enum { EV_CALL = 0, EV_RETURN = 3, EV_C_CALL = 4, EV_C_EXCEPTION = 5, EV_C_RETURN = 6 };

/* A call path: its last function (an index into the functions list) and the path it
 * extends (0, the root, for a path of one function). */
struct node {
    uint32_t parent;
    uint32_t function;
    uint64_t calls;
    uint64_t own_ns;
};

/* A call in progress: its path, when it began, and the time of the calls it made. */
struct active {
    uint32_t node;
    uint64_t start;
    uint64_t callees;
};

/* An open-addressing table from (path, callable identity) to the extending path, and
 * from callable identity to function index (path 0): sized to a power of two, at most
 * half full. An identity is a code object or a builtin's PyMethodDef; code objects are
 * kept alive (a reference per function) so that their address names them for good. */
struct slot {
    uint64_t parent;
    const void *identity;
    uint32_t value;
};

struct table {
    struct slot *slots;
    size_t capacity;
    size_t used;
};

static struct api py;
/* Events are recorded from flameprof_start to flameprof_stop, of the thread that
 * started recording (or of every thread: all_threads); before 3.12 through the
 * profile function. */
static int recording;
static void *recording_thread;
static int all_threads;
static int profile_function;
/* For measuring the recorder only (flameprof_start_behind): the profile function it
 * calls first on every event. */
static tracefunc chained;
static int cpu_clock;
static int failed;
static struct node *nodes;
static size_t node_count, node_capacity;
/* The calls in progress of the thread whose events come in (`current`): its stack,
 * swapped with its entry of `threads` when another thread's events come in. */
static struct active *stack;
static size_t depth, stack_capacity;
/* The time of the current thread's latest event, in its clock. */
static uint64_t last_event;
struct thread {
    void *state;
    struct active *stack;
    size_t depth, capacity;
    uint64_t last_event;
};
static struct thread *threads;
static size_t thread_count, thread_capacity, current;
/* From a thread state to its entry of `threads` (path 0). */
static struct table thread_index;
static struct table children, functions;
/* The bootstrap's: a list the functions are appended to (code objects, and builtins'
 * labels), and the function that makes a builtin's label as cProfile does. */
static PyObject *function_list, *label_of;

static uint64_t now(void)
{
    struct timespec ts;
    /* With --cpu each thread's own CPU time: a thread's calls begin and end on it, and
     * the CPU other threads spend meanwhile (with the GIL released) is not theirs. */
    clock_gettime(cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t hash(uint64_t parent, const void *identity)
{
    uint64_t h = parent * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)(uintptr_t)identity * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29));
}

/* Doubles the array at `*items` (of `*capacity` items of `size` bytes); 0 when memory
 * runs out, the array as it was. */
static int grow(void **items, size_t *capacity, size_t size)
{
    void *grown = realloc(*items, *capacity * 2 * size);
    if (!grown)
        return 0;
    *items = grown;
    *capacity *= 2;
    return 1;
}

/* Doubles the table when half full; 0 when memory runs out. */
static int make_room(struct table *t)
{
    if (t->used * 2 < t->capacity)
        return 1;
    size_t capacity = t->capacity ? t->capacity * 2 : 4096;
    struct slot *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return 0;
    for (size_t i = 0; i < t->capacity; i++) {
        struct slot s = t->slots[i];
        if (!s.identity)
            continue;
        size_t j = hash(s.parent, s.identity) & (capacity - 1);
        while (slots[j].identity)
            j = (j + 1) & (capacity - 1);
        slots[j] = s;
    }
    free(t->slots);
    t->slots = slots;
    t->capacity = capacity;
    return 1;
}

/* The slot of (parent, identity): its own, or the empty one it would take. */
static struct slot *find(struct table *t, uint64_t parent, const void *identity)
{
    size_t j = hash(parent, identity) & (t->capacity - 1);
    while (t->slots[j].identity) {
        if (t->slots[j].identity == identity && t->slots[j].parent == parent)
            break;
        j = (j + 1) & (t->capacity - 1);
    }
    return &t->slots[j];
}

/* Lists a callable seen for the first time: a code object as it is, a builtin by
 * the label the bootstrap's function makes of it and its m_self (`self`; the builtin
 * itself for none; for a method descriptor, the object it is called on). 0 when it
 * cannot be listed. */
static int list_function(PyObject *object, PyObject *self, int builtin)
{
    PyObject *listed = object;
    if (builtin) {
        listed = py.call_two_args(label_of, object, self, NULL);
        if (!listed) {
            py.clear_error();
            return 0;
        }
    }
    int appended = py.list_append(function_list, listed) == 0;
    if (builtin)
        py.decref(listed);
    else if (appended)
        /* Besides the list's: the code object's address names it for good even if
         * something empties the list. */
        py.incref(object);
    if (!appended)
        py.clear_error();
    return appended;
}

/* The index of a callable in the functions list; UINT32_MAX when it cannot be had. */
static uint32_t function_of(const void *identity, PyObject *object, PyObject *self, int builtin)
{
    if (!make_room(&functions))
        return UINT32_MAX;
    struct slot *s = find(&functions, 0, identity);
    if (s->identity)
        return s->value;
    if (functions.used >= UINT32_MAX || !list_function(object, self, builtin))
        return UINT32_MAX;
    /* list_function ran Python code, which cannot reach this table: `s` holds. */
    s->identity = identity;
    s->value = (uint32_t)functions.used++;
    return s->value;
}

/* Enters the call of `identity` from the current path, at time `t`: a code object,
 * or a builtin's PyMethodDef (`builtin`), `object` and `self` naming it. */
static void enter_as(const void *identity, PyObject *object, PyObject *self, int builtin,
                     uint64_t t)
{
    uint32_t parent = depth ? stack[depth - 1].node : 0;
    if (!make_room(&children)) {
        failed = 1;
        return;
    }
    struct slot *s = find(&children, parent, identity);
    uint32_t node = s->value;
    if (!s->identity) {
        uint32_t f = function_of(identity, object, self, builtin);
        if (f == UINT32_MAX || node_count >= UINT32_MAX) {
            failed = 1;
            return;
        }
        if (node_count == node_capacity &&
            !grow((void **)&nodes, &node_capacity, sizeof *nodes)) {
            failed = 1;
            return;
        }
        /* function_of may have grown `functions`, never `children`: `s` holds. */
        node = (uint32_t)node_count++;
        nodes[node] = (struct node){parent, f, 0, 0};
        s->parent = parent;
        s->identity = identity;
        s->value = node;
        children.used++;
    }
    if (depth == stack_capacity && !grow((void **)&stack, &stack_capacity, sizeof *stack)) {
        failed = 1;
        return;
    }
    nodes[node].calls++;
    stack[depth++] = (struct active){node, t, 0};
    last_event = t;
}

static void enter(const void *identity, PyObject *object, int builtin, uint64_t t)
{
    PyObject *self = NULL;
    if (builtin) {
        /* cProfile reads m_self, which __self__ hides for a static method
         * (str.maketrans): passed on, the builtin itself for none. */
        self = ((PyObject **)object)[3];
        if (!self)
            self = object;
    }
    enter_as(identity, object, self, builtin, t);
}

static void enter_builtin(const void *identity, PyObject *callable, PyObject *arg0, uint64_t t)
{
    if (((void **)callable)[1] == py.descriptor_type) {
        enter_as(identity, callable, arg0, 1, t);
    } else {
        enter(identity, callable, 1, t);
    }
}

/* Leaves the innermost call at time `t`. Like cProfile, a return with no call open
 * (one that began before recording did) is ignored. */
static void leave(uint64_t t)
{
    if (!depth)
        return;
    last_event = t;
    struct active *a = &stack[--depth];
    uint64_t spent = t > a->start ? t - a->start : 0;
    uint64_t own = spent > a->callees ? spent - a->callees : 0;
    nodes[a->node].own_ns += own;
    if (depth)
        stack[depth - 1].callees += spent;
}

static int ours(void);

/* Before 3.12: the profile function. */
static int on_event(PyObject *object, void *frame, int what, PyObject *arg)
{
    /* The time first, then a chained profile function: its cost falls after the
     * event, where it falls in its own measurements too. */
    uint64_t t = now();
    int result = chained ? chained(object, frame, what, arg) : 0;
    if (!ours())
        return result;
    switch (what) {
    case EV_CALL: {
        PyObject *code;
        if (py.frame_code) {
            code = py.frame_code(frame);
            py.decref(code); /* the frame holds it */
        } else {
            code = ((PyObject **)frame)[4];
        }
        enter(code, code, 0, t);
        break;
    }
    case EV_RETURN:
    case EV_C_EXCEPTION:
    case EV_C_RETURN:
        leave(t);
        break;
    case EV_C_CALL:
        enter(((void **)arg)[2], arg, 1, t);
        break;
    }
    return result;
}

/* From 3.12: the recorder's sys.monitoring callbacks, METH_FASTCALL builtins. */
typedef ptrdiff_t ssize;

/* Makes the stack of the thread whose state is `state` the current one, a new one
 * for a thread not seen before. A thread switched away from with no call in progress
 * gives its stack back (it may have ended: a program may start thousands), and gets a
 * new one when its events come in again. 0 when there is no memory. */
static int switch_to(void *state)
{
    if (threads[current].state == state)
        return 1;
    if (!make_room(&thread_index))
        return 0;
    struct slot *s = find(&thread_index, 0, state);
    if (!s->identity) {
        if (thread_count == thread_capacity &&
            !grow((void **)&threads, &thread_capacity, sizeof *threads))
            return 0;
        threads[thread_count] = (struct thread){state, NULL, 0, 0, 0};
        s->identity = state;
        s->value = (uint32_t)thread_count++;
        thread_index.used++;
    }
    size_t next = s->value;
    if (!threads[next].stack) {
        threads[next].stack = malloc(256 * sizeof *stack);
        if (!threads[next].stack)
            return 0;
        threads[next].capacity = 256;
    }
    if (depth == 0) {
        free(stack);
        stack = NULL;
        stack_capacity = 0;
    }
    threads[current] =
        (struct thread){threads[current].state, stack, depth, stack_capacity, last_event};
    current = next;
    stack = threads[current].stack;
    depth = threads[current].depth;
    stack_capacity = threads[current].capacity;
    last_event = threads[current].last_event;
    return 1;
}

/* Whether an event of this thread is recorded, its stack made the current one. */
static int ours(void)
{
    if (!recording || failed)
        return 0;
    void *state = py.thread_state();
    if (state == threads[current].state)
        return 1;
    if (!all_threads && state != recording_thread)
        return 0;
    if (!switch_to(state))
        failed = 1;
    return !failed;
}

static PyObject *none(void)
{
    py.incref(py.none);
    return py.none;
}

/* PY_START, PY_RESUME, PY_THROW (code, offset, ...): a Python function runs. */
static PyObject *on_start(PyObject *self, PyObject *const *args, ssize n)
{
    (void)self;
    if (n >= 1 && ours())
        enter(args[0], args[0], 0, now());
    return none();
}

/* PY_RETURN, PY_YIELD, PY_UNWIND: it stops. */
static PyObject *on_return(PyObject *self, PyObject *const *args, ssize n)
{
    (void)self;
    (void)args;
    (void)n;
    if (ours())
        leave(now());
    return none();
}

/* The builtin a CALL, C_RETURN or C_RAISE event (code, offset, callable, arg0) is
 * about, as cProfile reads it: a builtin function or method, or a method descriptor
 * called with a first argument (cProfile binds it; its PyMethodDef is the
 * descriptor's, after PyDescr_COMMON's five words). NULL for anything else. */
static const void *builtin_of(PyObject *const *args, ssize n)
{
    if (n < 4)
        return NULL;
    PyObject *callable = args[2];
    void *type = ((void **)callable)[1];
    if (type == py.builtin_type || py.is_subtype(type, py.builtin_type))
        return ((void **)callable)[2];
    if (type == py.descriptor_type && args[3] != py.missing)
        return ((void **)callable)[5];
    return NULL;
}

static PyObject *on_call(PyObject *self, PyObject *const *args, ssize n)
{
    (void)self;
    if (ours()) {
        uint64_t t = now();
        const void *identity = builtin_of(args, n);
        if (identity) {
            /* The label function binds a descriptor to its first argument. */
            enter_builtin(identity, args[2], args[3], t);
        }
    }
    return none();
}

static PyObject *on_call_end(PyObject *self, PyObject *const *args, ssize n)
{
    (void)self;
    if (ours()) {
        uint64_t t = now();
        if (builtin_of(args, n))
            leave(t);
    }
    return none();
}

struct method {
    const char *name;
    void *function;
    int flags;
    const char *doc;
};

enum { METH_FASTCALL = 0x0080 };

static struct method callbacks[] = {
    {"flameprof_start", (void *)on_start, METH_FASTCALL, NULL},
    {"flameprof_return", (void *)on_return, METH_FASTCALL, NULL},
    {"flameprof_call", (void *)on_call, METH_FASTCALL, NULL},
    {"flameprof_call_end", (void *)on_call_end, METH_FASTCALL, NULL},
};

/* From 3.12: callback `which` (0: a Python function starts, 1: it returns, 2: a
 * call, 3: a call's end) as a new builtin, for sys.monitoring.register_callback; NULL
 * for another number. Call after flameprof_start's api is known: flameprof_use. */
PyObject *flameprof_callback(int which)
{
    if (which < 0 || which >= (int)(sizeof callbacks / sizeof callbacks[0]))
        return NULL;
    return py.new_builtin(&callbacks[which], NULL, NULL);
}

/* Gives the recorder the API before anything else (the callbacks need it). */
void flameprof_use(const struct api *api)
{
    py = *api;
}

/* Starts recording on this thread: before 3.12 (`use_profile_function`) as its profile
 * function, from 3.12 through the callbacks the bootstrap has registered with
 * sys.monitoring. `list` gets the functions as they are first called, `labels` makes
 * a builtin's label. Returns 0, or -1 when there is no memory. */
int flameprof_start(const struct api *api, PyObject *list, PyObject *labels, int cpu,
                    int use_profile_function)
{
    py = *api;
    cpu_clock = cpu;
    node_capacity = 4096;
    stack_capacity = 256;
    thread_capacity = 4;
    nodes = malloc(node_capacity * sizeof *nodes);
    stack = malloc(stack_capacity * sizeof *stack);
    threads = malloc(thread_capacity * sizeof *threads);
    if (!nodes || !stack || !threads || !make_room(&children) || !make_room(&functions) ||
        !make_room(&thread_index))
        return -1;
    nodes[0] = (struct node){0, UINT32_MAX, 0, 0};
    node_count = 1;
    function_list = list;
    label_of = labels;
    py.incref(list);
    py.incref(labels);
    recording_thread = py.thread_state();
    threads[0] = (struct thread){recording_thread, stack, 0, stack_capacity, 0};
    thread_count = 1;
    struct slot *main_thread = find(&thread_index, 0, recording_thread);
    *main_thread = (struct slot){0, recording_thread, 0};
    thread_index.used = 1;
    current = 0;
    recording = 1;
    profile_function = use_profile_function;
    if (profile_function)
        py.set_profile(on_event, labels);
    return 0;
}

/* Before 3.12, for measuring the recorder against another profiler (bench/run's
 * same_run_recorded.py, with ../shared/truth/trace.py's tracer): starts recording
 * behind the profile function already set on this thread, whose object is
 * `profiler`, calling it first on every event, so that both see the same calls. A
 * thread state holds its profile function two words before its profile object (2.7
 * to 3.11). Returns 0, or -1 when it is not found. */
int flameprof_start_behind(const struct api *api, PyObject *list, PyObject *labels, int cpu,
                           PyObject *profiler)
{
    void **state = api->thread_state();
    for (int i = 2; i < 64 && !chained; i++)
        if (state[i] == (void *)profiler && state[i - 2])
            chained = (tracefunc)state[i - 2];
    if (!chained)
        return -1;
    int started = flameprof_start(api, list, labels, cpu, 0);
    if (started == 0) {
        profile_function = 1;
        py.set_profile(on_event, profiler);
    }
    return started;
}

/* Stops recording. Calls still open end now (none, when the program has returned; with
 * --cpu, another thread's at its latest event). */
void flameprof_stop(void)
{
    if (recording && profile_function)
        py.set_profile(NULL, NULL);
    recording = 0;
    void *caller = py.thread_state();
    uint64_t t = now();
    for (size_t i = 0; i < thread_count; i++) {
        if ((i != current && threads[i].depth == 0) || !switch_to(threads[i].state))
            continue;
        /* Another thread's CPU clock cannot be read from here: its calls end at its
         * latest event. */
        uint64_t end = cpu_clock && threads[i].state != caller ? last_event : t;
        while (depth)
            leave(end);
    }
}

/* Before flameprof_start: record every thread's calls, not only those of the thread
 * that starts recording. */
void flameprof_record_all_threads(int all)
{
    all_threads = all;
}

/* Before 3.12, first thing in a thread the program starts (before the function the
 * thread runs is called): records this thread too, the recorder its profile function. */
void flameprof_join_thread(void)
{
    if (recording && !failed && all_threads && profile_function && !chained)
        py.set_profile(on_event, label_of);
}

/* Whether recording stopped early for want of memory. */
int flameprof_failed(void)
{
    return failed;
}

static int write_all(int fd, const char *data, size_t size)
{
    while (size) {
        ssize_t n = write(fd, data, size);
        if (n < 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

static char *put_number(char *at, uint64_t n)
{
    char digits[20];
    int k = 0;
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (k)
        *at++ = digits[--k];
    return at;
}

/* Writes the paths to `fd`, one line each in order from path 1:
 * `n PARENT FUNCTION CALLS OWN_NS`. Returns 0, or -1 on a write error. */
int flameprof_write_paths(int fd)
{
    enum { BUFFER = 1 << 16, LINE = 4 + 4 * 21 };
    static char buffer[BUFFER];
    size_t used = 0;
    for (size_t i = 1; i < node_count; i++) {
        if (used + LINE > BUFFER) {
            if (write_all(fd, buffer, used))
                return -1;
            used = 0;
        }
        char *at = buffer + used;
        *at++ = 'n';
        *at++ = ' ';
        at = put_number(at, nodes[i].parent);
        *at++ = ' ';
        at = put_number(at, nodes[i].function);
        *at++ = ' ';
        at = put_number(at, nodes[i].calls);
        *at++ = ' ';
        at = put_number(at, nodes[i].own_ns);
        *at++ = '\n';
        used = (size_t)(at - buffer);
    }
    return write_all(fd, buffer, used);
}
