/*
 * The steps of a compiled call after its guard, in one C call (graphc/codegen/native_call.py):
 * the fresh output arrays, each draw's claim on its generator, the entry point (without the
 * GIL), the versions of the tensors it wrote in place, and the output tensors. The rendered
 * call path (call_path.py) writes the same steps in Python where this extension cannot be
 * built; in Python they cost several times the native code of a small training step.
 *
 * One `Call` per specialisation holds what its steps need, decided once; `run(*tensors)` takes
 * the tensors whose versions the call bumps and returns the output tensor (None for none, a
 * tuple for several). The caller holds the specialisation's lock: the slots, the draw words and
 * the kept arrays serve one call at a time; `Lock` is that lock, threading.Lock's twin.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>  /* T_INT, READONLY (Python.h has them from 3.12 only) */
#include <stddef.h>
#include <stdint.h>

typedef int (*graphc_entry_t)(void *const *slots, const uint64_t *draws, int threads);

/* an output returned or becoming a .grad: a fresh array per call, or the one returned last
   time when nothing but this holds it any more (the caller dropped the tensor) */
typedef struct {
    Py_ssize_t slot;
    PyObject *shape, *np_dtype, *dtype;  /* np.empty's arguments; the tensor's graphc dtype */
    int reuse;        /* 0: a new .grad stays referenced, so always a fresh array */
    PyObject *kept;   /* the array reused, or NULL */
    void *kept_data;
} Output;

/* consecutive draws from one generator: one claim of `blocks` Philox blocks; draw `first + k`
   reads from the claimed offset plus skips[k] */
typedef struct {
    PyObject *generator;
    uint64_t blocks;
    Py_ssize_t first, count;
    uint64_t *skips;
} Claim;

typedef struct {
    PyObject_HEAD
    graphc_entry_t entry;
    void **slots;
    uint64_t *words;
    PyObject *owners;       /* what owns the entry point, slots and words (cffi objects) */
    PyObject *threads;      /* a list: item 0 is the thread count (graphc.set_num_threads) */
    PyObject *raise_error;  /* called when the entry point fails: raises eager's exception */
    PyObject *empty, *tensor_type, *grad_state;  /* np.empty, Tensor, grad mode's state */
    Py_ssize_t output_count, alias_count, claim_count, bump_count;
    Output *outputs;
    Py_ssize_t *aliases;    /* (buffer slot, output slot) pairs: a returned reduction */
    Claim *claims;
    Py_ssize_t *bumps;      /* per tensor of run(): the versions eager's writes gave it */
    int release;            /* the entry point runs without the GIL: its work is not tiny */
} Call;

static PyObject *s_seed, *s_offset, *s_version_counter, *s_bump_version, *s_value,
    *s_data, *s_dtype, *s_inference, *s_inference_flag;

static int as_uint64(PyObject *value, uint64_t *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(value);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static void *data_of(PyObject *array)
{
    Py_buffer view;
    if (PyObject_GetBuffer(array, &view, PyBUF_WRITABLE) < 0)
        return NULL;
    void *data = view.buf;
    PyBuffer_Release(&view);  /* the array (held by the caller) keeps the memory */
    return data;
}

static int call_traverse(Call *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owners);
    Py_VISIT(self->threads);
    Py_VISIT(self->raise_error);
    Py_VISIT(self->empty);
    Py_VISIT(self->tensor_type);
    Py_VISIT(self->grad_state);
    for (Py_ssize_t i = 0; i < self->output_count; i++) {
        Py_VISIT(self->outputs[i].shape);
        Py_VISIT(self->outputs[i].np_dtype);
        Py_VISIT(self->outputs[i].dtype);
        Py_VISIT(self->outputs[i].kept);
    }
    for (Py_ssize_t i = 0; i < self->claim_count; i++)
        Py_VISIT(self->claims[i].generator);
    return 0;
}

static int call_clear(Call *self)
{
    Py_CLEAR(self->owners);
    Py_CLEAR(self->threads);
    Py_CLEAR(self->raise_error);
    Py_CLEAR(self->empty);
    Py_CLEAR(self->tensor_type);
    Py_CLEAR(self->grad_state);
    for (Py_ssize_t i = 0; i < self->output_count; i++) {
        Py_CLEAR(self->outputs[i].shape);
        Py_CLEAR(self->outputs[i].np_dtype);
        Py_CLEAR(self->outputs[i].dtype);
        Py_CLEAR(self->outputs[i].kept);
    }
    for (Py_ssize_t i = 0; i < self->claim_count; i++)
        Py_CLEAR(self->claims[i].generator);
    return 0;
}

static void call_dealloc(Call *self)
{
    PyObject_GC_UnTrack(self);
    call_clear(self);
    for (Py_ssize_t i = 0; i < self->claim_count; i++)
        PyMem_Free(self->claims[i].skips);
    PyMem_Free(self->outputs);
    PyMem_Free(self->aliases);
    PyMem_Free(self->claims);
    PyMem_Free(self->bumps);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Call(entry, slots, words, owners, outputs, aliases, claims, bumps, threads, raise_error,
        empty, tensor_type, grad_state, release)
   entry, slots, words: addresses; outputs: ((slot, shape, np_dtype, dtype, reuse), ...);
   aliases: ((buffer slot, output slot), ...); claims: ((generator, blocks, first, (skip, ...)),
   ...); bumps: (versions, ...), one per tensor run() takes; release: whether the entry point
   runs with the GIL released (for a call of a few hundred nanoseconds, releasing and taking
   it back is a twentieth of the call; other threads then wait that long) */
static int call_init(Call *self, PyObject *args, PyObject *kwargs)
{
    unsigned long long entry, slots, words;
    PyObject *owners, *outputs, *aliases, *claims, *bumps, *threads, *raise_error, *empty,
        *tensor_type, *grad_state;
    int release;
    if (kwargs && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "Call takes no keyword arguments");
        return -1;
    }
    if (self->outputs || self->aliases || self->claims || self->bumps) {
        PyErr_SetString(PyExc_RuntimeError, "Call is initialised once");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "KKKOO!O!O!O!O!OOOOp", &entry, &slots, &words, &owners,
                          &PyTuple_Type, &outputs, &PyTuple_Type, &aliases, &PyTuple_Type,
                          &claims, &PyTuple_Type, &bumps, &PyList_Type, &threads, &raise_error,
                          &empty, &tensor_type, &grad_state, &release))
        return -1;
    self->release = release;
    if (!PyType_Check(tensor_type) || PyList_GET_SIZE(threads) < 1) {
        PyErr_SetString(PyExc_TypeError, "Call: tensor_type must be a type, threads a list");
        return -1;
    }
    if (!entry || !slots || !words) {
        PyErr_SetString(PyExc_ValueError, "Call: a null entry point, slots or words");
        return -1;
    }
    self->entry = (graphc_entry_t)(uintptr_t)entry;
    self->slots = (void **)(uintptr_t)slots;
    self->words = (uint64_t *)(uintptr_t)words;
#define HOLD(field, value) (Py_INCREF(value), self->field = (value))
    HOLD(owners, owners);
    HOLD(threads, threads);
    HOLD(raise_error, raise_error);
    HOLD(empty, empty);
    HOLD(tensor_type, tensor_type);
    HOLD(grad_state, grad_state);
    Py_ssize_t n = PyTuple_GET_SIZE(outputs);
    self->outputs = PyMem_Calloc(n ? n : 1, sizeof(Output));
    self->aliases = PyMem_Calloc(2 * PyTuple_GET_SIZE(aliases) + 1, sizeof(Py_ssize_t));
    self->claims = PyMem_Calloc(PyTuple_GET_SIZE(claims) + 1, sizeof(Claim));
    self->bumps = PyMem_Calloc(PyTuple_GET_SIZE(bumps) + 1, sizeof(Py_ssize_t));
    if (!self->outputs || !self->aliases || !self->claims || !self->bumps) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Output *output = &self->outputs[i];
        PyObject *shape, *np_dtype, *dtype;
        int reuse;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(outputs, i), "nO!OOp", &output->slot,
                              &PyTuple_Type, &shape, &np_dtype, &dtype, &reuse))
            return -1;
        HOLD(outputs[i].shape, shape);
        HOLD(outputs[i].np_dtype, np_dtype);
        HOLD(outputs[i].dtype, dtype);
        output->reuse = reuse;
        self->output_count = i + 1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(aliases); i++) {
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(aliases, i), "nn", &self->aliases[2 * i],
                              &self->aliases[2 * i + 1]))
            return -1;
        self->alias_count = i + 1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(claims); i++) {
        Claim *claim = &self->claims[i];
        PyObject *generator, *skips;
        unsigned long long blocks;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(claims, i), "OKnO!", &generator, &blocks,
                              &claim->first, &PyTuple_Type, &skips))
            return -1;
        HOLD(claims[i].generator, generator);
        self->claim_count = i + 1;
        claim->blocks = blocks;
        claim->count = PyTuple_GET_SIZE(skips);
        claim->skips = PyMem_Calloc(claim->count + 1, sizeof(uint64_t));
        if (!claim->skips) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t k = 0; k < claim->count; k++)
            if (as_uint64(PyTuple_GET_ITEM(skips, k), &claim->skips[k]) < 0)
                return -1;
    }
#undef HOLD
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(bumps); i++) {
        self->bumps[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(bumps, i));
        if (self->bumps[i] < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Call: a negative version count");
            return -1;
        }
        self->bump_count = i + 1;
    }
    return 0;
}

/* Generator.claim for each run of draws: the offset moves on, the words get (seed, offset) */
static int claim_draws(Call *self)
{
    for (Py_ssize_t i = 0; i < self->claim_count; i++) {
        Claim *claim = &self->claims[i];
        PyObject *seed_object = PyObject_GetAttr(claim->generator, s_seed);
        PyObject *offset_object = seed_object ? PyObject_GetAttr(claim->generator, s_offset)
                                              : NULL;
        uint64_t seed, offset;
        int failed = !offset_object || as_uint64(seed_object, &seed) < 0
                     || as_uint64(offset_object, &offset) < 0;
        Py_XDECREF(seed_object);
        Py_XDECREF(offset_object);
        if (failed)
            return -1;
        PyObject *moved = PyLong_FromUnsignedLongLong(offset + claim->blocks);  /* wraps */
        if (!moved || PyObject_SetAttr(claim->generator, s_offset, moved) < 0) {
            Py_XDECREF(moved);
            return -1;
        }
        Py_DECREF(moved);
        for (Py_ssize_t k = 0; k < claim->count; k++) {
            self->words[2 * (claim->first + k)] = seed;
            self->words[2 * (claim->first + k) + 1] = offset + claim->skips[k];
        }
    }
    return 0;
}

/* Tensor._bump_version, `versions` times */
static int bump(PyObject *tensor, Py_ssize_t versions)
{
    PyObject *counter = PyObject_GetAttr(tensor, s_version_counter);
    if (counter == Py_None) {  /* the first write: the tensor makes its counter */
        Py_DECREF(counter);
        PyObject *done = PyObject_CallMethodObjArgs(tensor, s_bump_version, NULL);
        if (!done)
            return -1;
        Py_DECREF(done);
        versions -= 1;
        counter = PyObject_GetAttr(tensor, s_version_counter);
    }
    if (!counter)
        return -1;
    int failed = 0;
    if (versions > 0) {
        PyObject *value = PyObject_GetAttr(counter, s_value);
        PyObject *step = value ? PyLong_FromSsize_t(versions) : NULL;
        PyObject *sum = step ? PyNumber_Add(value, step) : NULL;
        failed = !sum || PyObject_SetAttr(counter, s_value, sum) < 0;
        Py_XDECREF(value);
        Py_XDECREF(step);
        Py_XDECREF(sum);
    }
    Py_DECREF(counter);
    return failed ? -1 : 0;
}

/* tensor.wrap: a new tensor owning `array` */
static PyObject *wrap(Call *self, PyObject *array, PyObject *dtype, int inference)
{
    PyTypeObject *type = (PyTypeObject *)self->tensor_type;
    PyObject *tensor = type->tp_alloc(type, 0);
    if (!tensor)
        return NULL;
    if (PyObject_SetAttr(tensor, s_data, array) < 0
            || PyObject_SetAttr(tensor, s_dtype, dtype) < 0
            || (inference && PyObject_SetAttr(tensor, s_inference_flag, Py_True) < 0)) {
        Py_DECREF(tensor);
        return NULL;
    }
    return tensor;
}

static PyObject *call_run(Call *self, PyObject *const *tensors, Py_ssize_t count)
{
    if (count != self->bump_count) {
        PyErr_Format(PyExc_TypeError, "Call.run takes %zd tensors (%zd given)",
                     self->bump_count, count);
        return NULL;
    }
    PyObject *results = PyTuple_New(self->output_count);  /* the arrays, then their tensors */
    if (!results)
        return NULL;
    for (Py_ssize_t i = 0; i < self->output_count; i++) {
        Output *output = &self->outputs[i];
        PyObject *array;
        void *data;
        if (output->kept && Py_REFCNT(output->kept) == 1) {
            array = output->kept;
            Py_INCREF(array);
            data = output->kept_data;
        } else {
            array = PyObject_CallFunctionObjArgs(self->empty, output->shape, output->np_dtype,
                                                 NULL);
            if (!array)
                goto fail;
            data = data_of(array);
            if (!data) {
                Py_DECREF(array);
                goto fail;
            }
            if (output->reuse) {
                Py_INCREF(array);
                Py_XSETREF(output->kept, array);
                output->kept_data = data;
            }
        }
        PyTuple_SET_ITEM(results, i, array);
        self->slots[output->slot] = data;
    }
    for (Py_ssize_t i = 0; i < self->alias_count; i++)
        self->slots[self->aliases[2 * i]] = self->slots[self->aliases[2 * i + 1]];
    if (claim_draws(self) < 0)
        goto fail;
    long threads = PyLong_AsLong(PyList_GET_ITEM(self->threads, 0));
    if (threads == -1 && PyErr_Occurred())
        goto fail;
    int status;
    if (self->release) {
        Py_BEGIN_ALLOW_THREADS
        status = self->entry(self->slots, self->words, (int)threads);
        Py_END_ALLOW_THREADS
    } else {
        status = self->entry(self->slots, self->words, (int)threads);
    }
    if (status) {  /* restores the draws and raises eager's exception (a NativeFailure) */
        PyObject *none = PyObject_CallNoArgs(self->raise_error);
        Py_XDECREF(none);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "graphc: the native call failed");
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++)
        if (self->bumps[i] && bump(tensors[i], self->bumps[i]) < 0)
            goto fail;
    PyObject *inference_object = PyObject_GetAttr(self->grad_state, s_inference);
    int inference = inference_object ? PyObject_IsTrue(inference_object) : -1;
    Py_XDECREF(inference_object);
    if (inference < 0)
        goto fail;
    for (Py_ssize_t i = 0; i < self->output_count; i++) {
        PyObject *array = PyTuple_GET_ITEM(results, i);
        PyObject *tensor = wrap(self, array, self->outputs[i].dtype, inference);
        if (!tensor)
            goto fail;
        PyTuple_SET_ITEM(results, i, tensor);
        Py_DECREF(array);  /* the tensor holds it */
    }
    if (self->output_count == 0) {
        Py_DECREF(results);
        Py_RETURN_NONE;
    }
    if (self->output_count == 1) {
        PyObject *only = PyTuple_GET_ITEM(results, 0);
        Py_INCREF(only);
        Py_DECREF(results);
        return only;
    }
    return results;
fail:
    Py_DECREF(results);
    return NULL;
}

static PyMethodDef call_methods[] = {
    {"run", (PyCFunction)(void (*)(void))call_run, METH_FASTCALL,
     "run(*tensors): the call's steps after its guard; the output tensor(s)"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef call_members[] = {
    {"release", T_INT, offsetof(Call, release), READONLY,
     "whether the entry point runs with the GIL released"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject CallType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "graphc_call.Call",
    .tp_doc = "The steps of one specialisation's compiled call after its guard",
    .tp_basicsize = sizeof(Call),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)call_init,
    .tp_dealloc = (destructor)call_dealloc,
    .tp_traverse = (traverseproc)call_traverse,
    .tp_clear = (inquiry)call_clear,
    .tp_methods = call_methods,
    .tp_members = call_members,
};

/* A specialisation's lock, as threading.Lock, whose acquire() takes no arguments to parse: a
   fifth of the rendered call's cost was threading.Lock's acquire and release. */
typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock;
    int locked;
} Lock;

static PyObject *lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) || (kwargs && PyDict_GET_SIZE(kwargs))) {
        PyErr_SetString(PyExc_TypeError, "Lock takes no arguments");
        return NULL;
    }
    Lock *self = (Lock *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->lock = PyThread_allocate_lock();
    if (!self->lock) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void lock_dealloc(Lock *self)
{
    if (self->lock) {
        if (self->locked)
            PyThread_release_lock(self->lock);
        PyThread_free_lock(self->lock);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *lock_acquire(Lock *self, PyObject *unused)
{
    (void)unused;
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        /* another thread's call holds it: wait without the GIL, which that call needs */
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    self->locked = 1;
    Py_RETURN_TRUE;
}

static PyObject *lock_release(Lock *self, PyObject *unused)
{
    (void)unused;
    if (!self->locked) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return NULL;
    }
    self->locked = 0;
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

static PyObject *lock_exit(Lock *self, PyObject *args)
{
    (void)args;
    return lock_release(self, NULL);
}

static PyObject *lock_locked(Lock *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(self->locked);
}

static PyMethodDef lock_methods[] = {
    {"acquire", (PyCFunction)lock_acquire, METH_NOARGS, "acquire(): wait for the lock"},
    {"release", (PyCFunction)lock_release, METH_NOARGS, "release(): let it go"},
    {"locked", (PyCFunction)lock_locked, METH_NOARGS, "locked(): whether it is held"},
    {"__enter__", (PyCFunction)lock_acquire, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)lock_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "graphc_call.Lock",
    .tp_doc = "A specialisation's lock: one call at a time",
    .tp_basicsize = sizeof(Lock),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = lock_new,
    .tp_dealloc = (destructor)lock_dealloc,
    .tp_methods = lock_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "graphc_call",
    "A compiled call's steps after its guard (graphc/codegen/native_call.py)", -1, NULL,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_graphc_call(void)
{
    struct { PyObject **name; const char *text; } names[] = {
        {&s_seed, "_seed"}, {&s_offset, "_offset"}, {&s_version_counter, "_version_counter"},
        {&s_bump_version, "_bump_version"}, {&s_value, "value"}, {&s_data, "_data"},
        {&s_dtype, "_dtype"}, {&s_inference, "inference"}, {&s_inference_flag, "_inference"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!(*names[i].name = PyUnicode_InternFromString(names[i].text)))
            return NULL;
    if (PyType_Ready(&CallType) < 0 || PyType_Ready(&LockType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&CallType);
    Py_INCREF(&LockType);
    if (PyModule_AddObject(m, "Call", (PyObject *)&CallType) < 0
            || PyModule_AddObject(m, "Lock", (PyObject *)&LockType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
