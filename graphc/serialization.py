"""graphc.save / graphc.load: checkpoints as a zip of raw buffers plus a JSON header, no pickle.

Loading a file never runs code from it: the header is plain JSON checked against a strict schema,
and the buffers are raw bytes read into fresh numpy arrays.

File format, version 1
----------------------
A zip archive whose entries are all stored uncompressed (written with a fixed timestamp, so the
same object always gives the same bytes)::

    header.json   UTF-8 JSON, described below
    data/<i>      the bytes of storage i, little-endian, one entry per distinct Storage

header.json holds one object with exactly these keys::

    {"format": "graphc", "version": 1, "byteorder": "little",
     "storages": [{"kind": "typed" | "untyped", "dtype": "float32", "size": <elements>}, ...],
     "tensors":  [{"storage": <index into storages>, "dtype": "float32", "shape": [<int>, ...],
                   "stride": [<int>, ...], "offset": <elements>, "requires_grad": <bool>}, ...],
     "root": <node>}

A node is a JSON null, true/false, integer, finite number or string (that Python value), or an
object with a "type" field and exactly the keys shown::

    {"type": "list" | "tuple", "items": [<node>, ...]}
    {"type": "dict" | "odict", "items": [[<string or integer key>, <node>], ...]}
    {"type": "float", "value": "nan" | "inf" | "-inf"}
    {"type": "tensor", "index": <index into tensors>}
    {"type": "storage", "index": <index into storages>}
    {"type": "size", "items": [<int>, ...]}          a graphc.Size
    {"type": "dtype", "name": "float32"}
    {"type": "device", "name": "cpu"}

("odict" is a collections.OrderedDict.) Dtype names are graphc's canonical ones (bool, uint8,
int8, int16, int32, int64, float16, float32, float64); storage i's entry holds exactly
size * itemsize bytes; strides and offset are in elements.

Sharing: tensors viewing one Storage object refer to one storages entry. Loading rebuilds that
Storage once and views it with each tensor's shape, stride and offset, so after load a write
through one view shows in the others, and a transposed or expanded (stride 0) view keeps its
strides. The same tensor object saved twice loads as one object. Other objects are not
deduplicated: a list saved twice loads as two equal lists.

What is checked on load, before any buffer is allocated: every entry is uncompressed, unencrypted
and lies inside the file; the entry names are exactly header.json and data/0 .. data/<n-1> (no
paths, no duplicates); each data entry's size equals its declared size; the header is at most
MAX_HEADER_BYTES, has no duplicate keys, no unknown keys or node types, nesting at most MAX_DEPTH
containers; every tensor's view lies inside its storage. Anything else is a RuntimeError
("graphc.load: ..."), as torch raises RuntimeError for a truncated or corrupted archive.
"""
import collections
import io
import json
import math
import os
import re
import struct
import sys
import zipfile
import zlib

import numpy as np

from . import dtypes as _dtypes
from .device import check_device, device as _device
from .storage import TypedStorage, UntypedStorage
from .tensor import Size, Tensor, contiguous_strides, make_view_of_storage

__all__ = ["save", "load"]

FORMAT_NAME = "graphc"
FORMAT_VERSION = 1
HEADER_NAME = "header.json"
MAX_HEADER_BYTES = 64 << 20
MAX_DEPTH = 100          # nested containers, on save and on load
MAX_DIMS = 64            # numpy's limit
MAX_ELEMENTS = 1 << 59   # bound on sizes, strides and offsets: byte counts stay inside int64
MAX_NAME_LENGTH = 64
READ_CHUNK_BYTES = 1 << 20

_DTYPES_BY_NAME = {d.name: d for d in _dtypes.ALL}
_DATA_NAME = re.compile(r"data/(0|[1-9][0-9]{0,17})")
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_CORRUPTION_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                      struct.error, zlib.error, NotImplementedError)


def _data_name(index):
    return f"data/{index}"


# ================================================================ save


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Write `obj` (tensors, storages, and dicts/lists/tuples of them and plain values) to `f`,
    a path or a writable binary file object. The pickle arguments are accepted and ignored."""
    encoder = _Encoder()
    root = encoder.node(obj, 0)
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "byteorder": "little",
        "storages": encoder.storage_records,
        "tensors": encoder.tensor_records,
        "root": root,
    }
    header_bytes = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("ascii")
    # everything that can fail on the object is done: only now touch the destination
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as stream:
            _write_archive(stream, header_bytes, encoder.storages)
    elif hasattr(f, "write"):
        _write_archive(f, header_bytes, encoder.storages)
    else:
        raise TypeError(f"graphc.save: f must be a path or a writable binary file object, "
                        f"got {type(f).__name__}")


class _Encoder:
    """Walks the object tree once, turning it into header nodes and collecting the storages."""

    def __init__(self):
        self.storages = []
        self.storage_records = []
        self.tensor_records = []
        self._storage_index = {}
        self._tensor_index = {}
        self._kept_alive = []       # objects whose id() is a key above must outlive the walk
        self._open_containers = set()

    def node(self, obj, depth):
        if obj is None or obj is True or obj is False:
            return obj
        if isinstance(obj, Tensor):
            return {"type": "tensor", "index": self._tensor(obj)}
        if isinstance(obj, TypedStorage):
            return {"type": "storage", "index": self._storage(obj)}
        if isinstance(obj, str):
            return str.__str__(obj)
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            return _float_node(float(obj))
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, Size):
            return {"type": "size", "items": [int(s) for s in obj]}
        if isinstance(obj, _dtypes.dtype):
            return {"type": "dtype", "name": obj.name}
        if isinstance(obj, _device):
            return {"type": "device", "name": str(obj)}
        if isinstance(obj, (list, tuple, dict)):
            return self._container(obj, depth)
        kind = type(obj)
        raise TypeError(
            f"graphc.save: cannot save an object of type {kind.__module__}.{kind.__qualname__}; "
            "supported are tensors, storages, dtypes, devices, Size, dict/list/tuple and None, "
            "bool, int, float, str (graphc.save does not pickle)")

    def _container(self, obj, depth):
        if depth >= MAX_DEPTH:
            raise ValueError(f"graphc.save: containers are nested deeper than {MAX_DEPTH} levels")
        if id(obj) in self._open_containers:
            raise ValueError(
                f"graphc.save: cannot save a {type(obj).__name__} that contains itself")
        self._open_containers.add(id(obj))
        try:
            if isinstance(obj, dict):
                kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
                items = [[_dict_key(key), self.node(value, depth + 1)]
                         for key, value in obj.items()]
                return {"type": kind, "items": items}
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"type": kind, "items": [self.node(item, depth + 1) for item in obj]}
        finally:
            self._open_containers.discard(id(obj))

    def _tensor(self, tensor):
        index = self._tensor_index.get(id(tensor))
        if index is None:
            storage, stride, offset = _placement(tensor)
            self.tensor_records.append({
                "storage": self._storage(storage),
                "dtype": tensor._dtype.name,
                "shape": list(tensor._data.shape),
                "stride": list(stride),
                "offset": offset,
                "requires_grad": bool(tensor._requires_grad),
            })
            index = self._tensor_index[id(tensor)] = len(self.tensor_records) - 1
            self._kept_alive.append(tensor)
        return index

    def _storage(self, storage):
        index = self._storage_index.get(id(storage))
        if index is None:
            self.storages.append(storage)
            self.storage_records.append({
                "kind": "untyped" if isinstance(storage, UntypedStorage) else "typed",
                "dtype": storage.dtype.name,
                "size": int(storage._flat.shape[0]),
            })
            index = self._storage_index[id(storage)] = len(self.storages) - 1
        return index


def _float_node(value):
    if math.isfinite(value):
        return value
    name = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return {"type": "float", "value": name}


def _dict_key(key):
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return int(key)
    raise TypeError(f"graphc.save: dict keys must be str or int, got {type(key).__name__}")


def _address(array):
    return array.__array_interface__["data"][0]


def _placement(tensor):
    """(storage, stride, offset), in elements, that rebuild `tensor` as a view of its storage.

    A view numpy cannot describe inside its storage (negative or misaligned strides, which graphc
    tensors do not normally have) gets a private contiguous copy: its values survive, its sharing
    does not."""
    data = tensor._data
    storage = tensor.storage()
    flat = storage._flat
    itemsize = data.itemsize
    byte_offset = _address(data) - _address(flat)
    if (storage.dtype is tensor._dtype and flat.dtype == data.dtype
            and byte_offset % itemsize == 0
            and all(s >= 0 and s % itemsize == 0 for s in data.strides)):
        stride = tuple(s // itemsize for s in data.strides)
        offset = byte_offset // itemsize
        if data.size == 0:
            return storage, stride, (offset if 0 <= offset <= flat.shape[0] else 0)
        last = offset + sum((n - 1) * s for n, s in zip(data.shape, stride))
        if offset >= 0 and last < flat.shape[0]:
            return storage, stride, offset
    copy = np.ascontiguousarray(data).reshape(-1)
    return TypedStorage._from_flat(copy, tensor._dtype), contiguous_strides(data.shape), 0


def _little_endian_bytes(flat):
    """A uint8 view (no copy on little-endian machines) of a storage's elements."""
    array = np.ascontiguousarray(flat.astype(flat.dtype.newbyteorder("<"), copy=False))
    return memoryview(array.view(np.uint8))


def _zip_entry(name):
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _write_archive(stream, header_bytes, storages):
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr(_zip_entry(HEADER_NAME), header_bytes)
        for index, storage in enumerate(storages):
            archive.writestr(_zip_entry(_data_name(index)), _little_endian_bytes(storage._flat))


# ================================================================ load


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Read what `save` wrote, from a path or a readable binary file object.

    Everything lives on the CPU: map_location may be None, 'cpu', a cpu device, a dict or a
    callable and is otherwise ignored; weights_only, mmap and the pickle arguments are ignored
    (no code is ever loaded)."""
    _check_map_location(map_location)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as stream:
            return _load_stream(stream)
    if not hasattr(f, "read"):
        raise TypeError(f"graphc.load: f must be a path or a readable binary file object, "
                        f"got {type(f).__name__}")
    if not _is_seekable(f):
        f = io.BytesIO(f.read())  # zip needs random access
    return _load_stream(f)


def _check_map_location(map_location):
    if map_location is None or isinstance(map_location, dict) or callable(map_location):
        return
    if _device(map_location).type == "cuda":
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
            "False. If you are running on a CPU-only machine, please use torch.load with "
            "map_location=torch.device('cpu') to map your storages to the CPU.")
    check_device(map_location)


def _is_seekable(stream):
    try:
        return stream.seekable()
    except AttributeError:
        return hasattr(stream, "seek") and hasattr(stream, "tell")


def _fail(message):
    raise RuntimeError(f"graphc.load: invalid checkpoint: {message}")


def _load_stream(stream):
    archive_size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    try:
        archive = zipfile.ZipFile(stream, "r")
    except _CORRUPTION_ERRORS as error:
        raise RuntimeError(
            f"graphc.load: not a graphc checkpoint: the file is not a readable zip archive "
            f"(it may be truncated or corrupted): {error}") from error
    with archive:
        try:
            return _Decoder(archive, archive_size).load()
        except _CORRUPTION_ERRORS as error:
            raise RuntimeError(
                f"graphc.load: the checkpoint is corrupted or truncated: {error}") from error


class _Decoder:
    """Checks the archive and its header, then rebuilds storages, tensors and the object tree."""

    def __init__(self, archive, archive_size):
        self.archive = archive
        self.archive_size = archive_size
        self.storages = []
        self.tensors = []

    def load(self):
        entries = self._entries()
        header = self._header(entries)
        self._check_entry_names(entries, len(header["storages"]))
        self._read_storages(header["storages"], entries)
        self._build_tensors(header["tensors"])
        return self._node(header["root"], 0)

    # ------------------------------------------------------------ archive
    def _entries(self):
        entries = {}
        total = 0
        for info in self.archive.infolist():
            name = info.orig_filename
            if name in entries:
                _fail(f"duplicate zip entry {name!r}")
            if name != HEADER_NAME and not _DATA_NAME.fullmatch(name):
                _fail(f"unexpected zip entry name {name[:100]!r} (graphc writes header.json "
                      f"and data/<index>)")
            if info.flag_bits & 0x1:
                _fail(f"zip entry {name!r} is encrypted")
            if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
                _fail(f"zip entry {name!r} is compressed; graphc checkpoints store raw bytes")
            if info.header_offset + info.file_size > self.archive_size:
                _fail(f"zip entry {name!r} extends past the end of the file")
            total += info.file_size
            entries[name] = info
        if total > self.archive_size:
            _fail("zip entries overlap (declared sizes exceed the file size)")
        return entries

    def _check_entry_names(self, entries, storage_count):
        expected = {HEADER_NAME, *(_data_name(i) for i in range(storage_count))}
        missing = expected - entries.keys()
        if missing:
            _fail(f"missing zip entry {min(missing)!r}")
        extra = entries.keys() - expected
        if extra:
            _fail(f"zip entry {min(extra)!r} belongs to no storage (the header declares "
                  f"{storage_count} storages)")

    # ------------------------------------------------------------ header
    def _header(self, entries):
        info = entries.get(HEADER_NAME)
        if info is None:
            _fail(f"no {HEADER_NAME} entry (not a graphc checkpoint)")
        if info.file_size > MAX_HEADER_BYTES:
            _fail(f"{HEADER_NAME} is {info.file_size} bytes, over the {MAX_HEADER_BYTES} limit")
        try:
            text = self.archive.read(info).decode("utf-8")
        except UnicodeDecodeError as error:
            _fail(f"{HEADER_NAME} is not UTF-8: {error}")
        try:
            header = json.loads(text, object_pairs_hook=_object_without_duplicate_keys,
                                parse_constant=_reject_constant)
        except RecursionError:
            _fail(f"{HEADER_NAME} is nested too deeply")
        except ValueError as error:
            _fail(f"{HEADER_NAME} is not valid JSON: {error}")
        if not isinstance(header, dict):
            _fail(f"{HEADER_NAME} must hold a JSON object")
        if header.get("format") != FORMAT_NAME:
            _fail(f"header format is {header.get('format')!r}, expected {FORMAT_NAME!r}")
        version = header.get("version")
        if not _is_int(version):
            _fail("header version must be an integer")
        if version > FORMAT_VERSION:
            _fail(f"written by a newer graphc (format version {version}); this graphc reads "
                  f"version {FORMAT_VERSION}")
        if version != FORMAT_VERSION:
            _fail(f"unknown format version {version}")
        _check_keys(header, {"format", "version", "byteorder", "storages", "tensors", "root"},
                    "header")
        if header["byteorder"] != "little":
            _fail(f"byteorder must be 'little', got {header['byteorder']!r}")
        _check_list(header["storages"], "storages")
        _check_list(header["tensors"], "tensors")
        return header

    # ------------------------------------------------------------ storages
    def _read_storages(self, records, entries):
        for index, record in enumerate(records):
            where = f"storages[{index}]"
            _check_keys(record, {"kind", "dtype", "size"}, where)
            dtype = _dtype_field(record["dtype"], where)
            kind = record["kind"]
            if kind not in ("typed", "untyped"):
                _fail(f"{where}.kind must be 'typed' or 'untyped', got {kind!r}")
            if kind == "untyped" and dtype is not _dtypes.uint8:
                _fail(f"{where}: an untyped storage holds uint8, got {dtype.name}")
            size = _count_field(record["size"], f"{where}.size")
            info = entries[_data_name(index)]
            if info.file_size != size * dtype.itemsize:
                _fail(f"{where} declares {size} {dtype.name} elements ({size * dtype.itemsize} "
                      f"bytes) but its entry holds {info.file_size} bytes")
            flat = self._read_elements(info, dtype, size, where)
            storage_class = UntypedStorage if kind == "untyped" else TypedStorage
            self.storages.append(storage_class._from_flat(flat, dtype))

    def _read_elements(self, info, dtype, size, where):
        flat = np.empty(size, dtype=dtype.np)
        target = memoryview(flat.view(np.uint8))
        filled = 0
        with self.archive.open(info) as source:
            while filled < info.file_size:
                count = source.readinto(target[filled:filled + READ_CHUNK_BYTES])
                if not count:
                    _fail(f"{where}: its entry ends early")
                filled += count
            source.read(1)  # reach the end of the entry, where zipfile checks the CRC
        if sys.byteorder != "little" and dtype.itemsize > 1:
            flat = flat.view(dtype.np.newbyteorder("<")).astype(dtype.np)
        if dtype is _dtypes.bool and size and flat.view(np.uint8).max() > 1:
            _fail(f"{where}: a bool storage holds bytes other than 0 and 1")
        return flat

    # ------------------------------------------------------------ tensors
    def _build_tensors(self, records):
        for index, record in enumerate(records):
            where = f"tensors[{index}]"
            _check_keys(record, {"storage", "dtype", "shape", "stride", "offset", "requires_grad"},
                        where)
            storage = self._indexed(record["storage"], self.storages, f"{where}.storage")
            dtype = _dtype_field(record["dtype"], where)
            if dtype is not storage.dtype:
                _fail(f"{where}.dtype is {dtype.name} but its storage holds {storage.dtype.name}")
            shape = _int_list_field(record["shape"], f"{where}.shape")
            stride = _int_list_field(record["stride"], f"{where}.stride")
            if len(stride) != len(shape):
                _fail(f"{where}: {len(shape)} sizes but {len(stride)} strides")
            offset = _count_field(record["offset"], f"{where}.offset")
            requires_grad = record["requires_grad"]
            if not isinstance(requires_grad, bool):
                _fail(f"{where}.requires_grad must be true or false")
            if requires_grad and not dtype.is_floating_point:
                _fail(f"{where}: only floating point tensors can require gradients")
            _check_view_bounds(shape, stride, offset, len(storage), where)
            tensor = make_view_of_storage(storage, tuple(shape), tuple(stride), offset)
            tensor._requires_grad = requires_grad
            self.tensors.append(tensor)

    # ------------------------------------------------------------ object tree
    def _node(self, node, depth):
        if node is None or isinstance(node, (bool, int, str)):
            return node
        if isinstance(node, float):
            if not math.isfinite(node):
                _fail("a number in the header overflows to infinity")
            return node
        if isinstance(node, list):
            _fail("a bare JSON array is not a node (lists are written {\"type\": \"list\", ...})")
        if depth >= MAX_DEPTH:
            _fail(f"containers are nested deeper than {MAX_DEPTH} levels")
        kind = node.get("type")
        decode = _NODE_DECODERS.get(kind) if isinstance(kind, str) else None
        if decode is None:
            _fail(f"unknown node type {str(kind)[:40]!r}")
        return decode(self, node, depth + 1)

    def _sequence_node(self, node, depth):
        _check_keys(node, {"type", "items"}, f"{node['type']} node")
        items = [self._node(item, depth) for item in _check_list(node["items"], "items")]
        return items if node["type"] == "list" else tuple(items)

    def _dict_node(self, node, depth):
        kind = node["type"]
        _check_keys(node, {"type", "items"}, f"{kind} node")
        result = collections.OrderedDict() if kind == "odict" else {}
        for pair in _check_list(node["items"], f"{kind} items"):
            if not isinstance(pair, list) or len(pair) != 2:
                _fail(f"{kind} items must be [key, value] pairs")
            key, value = pair
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                _fail(f"{kind} keys must be strings or integers, got {type(key).__name__}")
            if key in result:
                _fail(f"duplicate {kind} key {str(key)[:40]!r}")
            result[key] = self._node(value, depth)
        return result

    def _float_node(self, node, depth):
        _check_keys(node, {"type", "value"}, "float node")
        value = node["value"]
        if not isinstance(value, str) or value not in _NON_FINITE:
            _fail("a float node's value must be 'nan', 'inf' or '-inf'")
        return _NON_FINITE[value]

    def _tensor_node(self, node, depth):
        _check_keys(node, {"type", "index"}, "tensor node")
        return self._indexed(node["index"], self.tensors, "tensor node index")

    def _storage_node(self, node, depth):
        _check_keys(node, {"type", "index"}, "storage node")
        return self._indexed(node["index"], self.storages, "storage node index")

    def _size_node(self, node, depth):
        _check_keys(node, {"type", "items"}, "size node")
        items = _check_list(node["items"], "size items")
        if len(items) > MAX_DIMS or not all(_is_int(item) for item in items):
            _fail(f"a size node's items must be at most {MAX_DIMS} integers")
        return Size(items)

    def _dtype_node(self, node, depth):
        _check_keys(node, {"type", "name"}, "dtype node")
        return _dtype_field(node["name"], "dtype node")

    def _device_node(self, node, depth):
        _check_keys(node, {"type", "name"}, "device node")
        name = node["name"]
        if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
            _fail("a device node's name must be a short string")
        try:
            return _device(name)
        except (RuntimeError, ValueError):
            _fail(f"invalid device name {name!r}")

    @staticmethod
    def _indexed(index, table, where):
        if not _is_int(index) or not 0 <= index < len(table):
            _fail(f"{where} must be an integer in [0, {len(table)}), got {str(index)[:40]}")
        return table[index]


_NODE_DECODERS = {
    "list": _Decoder._sequence_node,
    "tuple": _Decoder._sequence_node,
    "dict": _Decoder._dict_node,
    "odict": _Decoder._dict_node,
    "float": _Decoder._float_node,
    "tensor": _Decoder._tensor_node,
    "storage": _Decoder._storage_node,
    "size": _Decoder._size_node,
    "dtype": _Decoder._dtype_node,
    "device": _Decoder._device_node,
}


# ---------------------------------------------------------------- schema helpers


def _object_without_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def _is_int(value):
    return type(value) is int


def _check_keys(record, expected, where):
    if not isinstance(record, dict):
        _fail(f"{where} must be a JSON object")
    if record.keys() != expected:
        unknown = sorted(record.keys() - expected)
        missing = sorted(expected - record.keys())
        detail = f"unknown keys {unknown}" if unknown else f"missing keys {missing}"
        _fail(f"{where}: {detail}"[:300])


def _check_list(value, where):
    if not isinstance(value, list):
        _fail(f"{where} must be a JSON array")
    return value


def _dtype_field(name, where):
    dtype = _DTYPES_BY_NAME.get(name) if isinstance(name, str) else None
    if dtype is None:
        _fail(f"{where}: unknown dtype {str(name)[:40]!r}")
    return dtype


def _count_field(value, where):
    if not _is_int(value) or not 0 <= value <= MAX_ELEMENTS:
        _fail(f"{where} must be an integer in [0, {MAX_ELEMENTS}], got {str(value)[:40]}")
    return value


def _int_list_field(value, where):
    _check_list(value, where)
    if len(value) > MAX_DIMS:
        _fail(f"{where} has {len(value)} entries, over the {MAX_DIMS} dimension limit")
    return [_count_field(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _check_view_bounds(shape, stride, offset, storage_size, where):
    numel = math.prod(shape)
    if numel > MAX_ELEMENTS:
        _fail(f"{where}: shape {shape} has too many elements")
    if numel == 0:
        return
    last = offset + sum((n - 1) * s for n, s in zip(shape, stride))
    if last >= storage_size:
        _fail(f"{where}: shape {shape}, stride {stride} and offset {offset} reach element {last} "
              f"of a storage of {storage_size} elements")
