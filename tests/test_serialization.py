"""graphc.save / graphc.load: round trips, storage sharing, and rejection of hostile files."""
import collections
import io
import json
import math
import random
import zipfile

import numpy as np
import pytest

import graphc
import oracle
from graphc.serialization import MAX_ELEMENTS, load, save

ALL_DTYPES = [graphc.bool, graphc.uint8, graphc.int8, graphc.int16, graphc.int32, graphc.int64,
              graphc.float16, graphc.float32, graphc.float64]


def round_trip(obj, **load_kwargs):
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    return load(buffer, **load_kwargs)


def saved_bytes(obj):
    buffer = io.BytesIO()
    save(obj, buffer)
    return buffer.getvalue()


def assert_same_tensor(loaded, original):
    assert loaded.dtype is original.dtype
    assert loaded.shape == original.shape
    assert loaded.stride() == original.stride()
    assert loaded.requires_grad == original.requires_grad
    np.testing.assert_array_equal(np.asarray(loaded), np.asarray(original))


def sample_values(dtype, count):
    values = np.arange(count) * 37 - 11
    if dtype is graphc.bool:
        return values % 3 == 0
    if dtype is graphc.uint8:
        return (values % 256).astype(np.uint8)
    return values.astype(dtype.np)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_every_dtype_round_trips(dtype):
    original = graphc.from_numpy(sample_values(dtype, 12).reshape(3, 4))
    loaded = round_trip(original)
    assert_same_tensor(loaded, original)
    assert loaded.storage().dtype is dtype


def test_extreme_float_values_round_trip_bit_exactly():
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-320, np.finfo(np.float64).max])
    loaded = round_trip(graphc.from_numpy(values))
    assert np.asarray(loaded).tobytes() == values.tobytes()


def test_zero_dim_and_empty_tensors():
    scalar = graphc.tensor(3.5)
    empty = graphc.zeros(0, 3, dtype=graphc.int64)
    loaded = round_trip([scalar, empty, graphc.tensor([])])
    assert_same_tensor(loaded[0], scalar)
    assert loaded[0].item() == 3.5
    assert_same_tensor(loaded[1], empty)
    assert loaded[2].shape == (0,)


def test_transposed_view_stays_transposed_and_shares_storage():
    x = graphc.arange(12.).reshape(3, 4)
    loaded = round_trip({"x": x, "xt": x.t()})
    assert loaded["xt"].stride() == (1, 4)
    assert not loaded["xt"].is_contiguous()
    assert_same_tensor(loaded["xt"], x.t())
    assert loaded["xt"].storage() is loaded["x"].storage()


def test_non_contiguous_view_alone_keeps_offset_and_strides():
    x = graphc.arange(20, dtype=graphc.int32).reshape(4, 5)
    view = x.narrow(0, 1, 2).narrow(1, 2, 3)
    loaded = round_trip(view)
    assert loaded.stride() == (5, 1)
    assert loaded.storage_offset() == 7
    assert len(loaded.storage()) == 20  # the whole storage is saved, as torch does
    np.testing.assert_array_equal(np.asarray(loaded), np.arange(20).reshape(4, 5)[1:3, 2:5])


def test_expanded_tensor_keeps_zero_stride():
    base = graphc.tensor([1.0, 2.0, 3.0])
    expanded = base.expand(4, 3)
    loaded = round_trip(expanded)
    assert loaded.stride() == (0, 1)
    assert len(loaded.storage()) == 3
    np.testing.assert_array_equal(np.asarray(loaded), np.tile([1.0, 2.0, 3.0], (4, 1)))


def test_views_sharing_a_storage_share_it_after_load():
    x = graphc.arange(12.)
    saved = {"a": x, "b": x.narrow(0, 1, 11).view(11, 1)}
    loaded = round_trip(saved)
    assert loaded["a"].storage() is loaded["b"].storage()
    loaded["a"].add_(100)
    np.testing.assert_array_equal(np.asarray(loaded["b"]).ravel(), np.arange(1, 12) + 100.0)
    # the originals are untouched
    np.testing.assert_array_equal(np.asarray(x), np.arange(12.0))


def test_separate_storages_stay_separate():
    loaded = round_trip([graphc.zeros(3), graphc.zeros(3)])
    assert loaded[0].storage() is not loaded[1].storage()
    loaded[0].fill_(1)
    assert np.asarray(loaded[1]).tolist() == [0.0, 0.0, 0.0]


def test_tensor_outside_its_resized_storage_is_saved_by_value():
    x = graphc.arange(4.)
    storage = x.storage()
    storage.resize_(10)  # the storage now owns new memory; x still views the old memory
    loaded = round_trip({"x": x, "storage": storage})
    assert loaded["x"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert len(loaded["storage"]) == 10


def test_same_tensor_twice_loads_as_one_object():
    x = graphc.ones(2)
    loaded = round_trip([x, x, (x,)])
    assert loaded[0] is loaded[1] is loaded[2][0]


def test_requires_grad_is_kept_and_loaded_tensors_are_leaves():
    leaf = graphc.ones(3, requires_grad=True)
    computed = leaf * 2
    loaded = round_trip([leaf, computed, graphc.ones(2)])
    assert loaded[0].requires_grad and loaded[0].is_leaf
    # (a computed tensor requires grad once autograd records it; it always loads as a leaf)
    assert loaded[1].requires_grad == computed.requires_grad
    assert loaded[1].is_leaf and loaded[1].grad_fn is None
    assert not loaded[2].requires_grad
    np.testing.assert_array_equal(np.asarray(loaded[1].detach()), [2.0, 2.0, 2.0])


def test_storage_objects_round_trip_and_stay_linked_to_their_tensors():
    x = graphc.arange(6, dtype=graphc.int16)
    loaded = round_trip({"storage": x.storage(), "tensor": x.narrow(0, 2, 3)})
    storage = loaded["storage"]
    assert isinstance(storage, graphc.TypedStorage)
    assert storage.dtype is graphc.int16
    assert storage.tolist() == list(range(6))
    assert loaded["tensor"].storage() is storage
    storage[3] = 42
    assert np.asarray(loaded["tensor"]).tolist() == [2, 42, 4]


def test_untyped_storage_round_trips():
    untyped = graphc.tensor([1.0, 2.0], dtype=graphc.float32).untyped_storage()
    loaded = round_trip(untyped)
    assert isinstance(loaded, graphc.UntypedStorage)
    assert bytes(loaded.tolist()) == np.array([1.0, 2.0], dtype="<f4").tobytes()


def test_nested_containers_and_plain_values():
    t = graphc.tensor([1, 2, 3])
    obj = {
        "none": None, "bools": [True, False], "int": -(2 ** 70), "float": 2.5,
        "str": "héllo\u2603",
        "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "-0": -0.0,
        "tuple": (1, (2, [3, {"deep": t}])), "empty": [[], (), {}],
        7: "int key", -1: "negative key",
        "size": graphc.Size([2, 3]), "dtype": graphc.float16, "device": graphc.device("cpu"),
    }
    loaded = round_trip(obj)
    assert list(loaded.keys()) == list(obj.keys())
    assert loaded["none"] is None and loaded["bools"] == [True, False]
    assert loaded["int"] == -(2 ** 70) and type(loaded["int"]) is int
    assert loaded["float"] == 2.5 and type(loaded["float"]) is float
    assert loaded["str"] == "héllo\u2603"
    assert math.isnan(loaded["nan"]) and loaded["inf"] == math.inf and loaded["-inf"] == -math.inf
    assert math.copysign(1.0, loaded["-0"]) == -1.0
    assert type(loaded["tuple"]) is tuple and type(loaded["tuple"][1][1]) is list
    assert np.asarray(loaded["tuple"][1][1][1]["deep"]).tolist() == [1, 2, 3]
    assert loaded["empty"] == [[], (), {}]
    assert loaded[7] == "int key" and loaded[-1] == "negative key"
    assert type(loaded["size"]) is graphc.Size and loaded["size"] == (2, 3)
    assert loaded["dtype"] is graphc.float16
    assert loaded["device"] == graphc.device("cpu")


def test_ordered_dict_and_numpy_scalars():
    state = collections.OrderedDict([("weight", graphc.ones(2, 2)), ("step", np.int64(3)),
                                     ("lr", np.float32(0.5)), ("flag", np.bool_(True))])
    loaded = round_trip(state)
    assert type(loaded) is collections.OrderedDict
    assert list(loaded) == ["weight", "step", "lr", "flag"]
    assert loaded["step"] == 3 and type(loaded["step"]) is int
    assert loaded["lr"] == 0.5 and type(loaded["lr"]) is float
    assert loaded["flag"] is True


def test_paths_and_file_objects(tmp_path):
    x = graphc.arange(5.)
    path = tmp_path / "checkpoint.pt"
    save(x, path)
    assert_same_tensor(load(path), x)
    assert_same_tensor(load(str(path), map_location="cpu", weights_only=True), x)
    save({"x": x}, str(tmp_path / "other.pt"))
    with open(tmp_path / "other.pt", "rb") as f:
        assert_same_tensor(load(f)["x"], x)
    with open(tmp_path / "third.pt", "wb") as f:
        save(x, f)
    assert_same_tensor(load(tmp_path / "third.pt", map_location=graphc.device("cpu")), x)


def test_unseekable_streams():
    class WriteOnly(io.RawIOBase):
        def __init__(self):
            self.chunks = []

        def writable(self):
            return True

        def write(self, data):
            self.chunks.append(bytes(data))
            return len(data)

    class ReadOnce(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, target):
            return self.inner.readinto(target)

    x = graphc.arange(4.).reshape(2, 2).t()
    sink = WriteOnly()
    save({"x": x}, sink)
    loaded = load(ReadOnce(b"".join(sink.chunks)))
    assert_same_tensor(loaded["x"], x)


def test_saving_is_deterministic():
    obj = {"a": graphc.arange(3.), "b": [1, 2]}
    assert saved_bytes(obj) == saved_bytes(obj)


def test_archive_layout_matches_the_documented_format():
    x = graphc.arange(4, dtype=graphc.int32)
    with zipfile.ZipFile(io.BytesIO(saved_bytes({"x": x, "y": x.narrow(0, 1, 2)}))) as archive:
        assert archive.namelist() == ["header.json", "data/0"]
        header = json.loads(archive.read("header.json"))
        assert archive.read("data/0") == np.arange(4, dtype="<i4").tobytes()
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    assert header["format"] == "graphc" and header["version"] == 1
    assert header["storages"] == [{"kind": "typed", "dtype": "int32", "size": 4}]
    assert header["tensors"][1] == {"storage": 0, "dtype": "int32", "shape": [2], "stride": [1],
                                    "offset": 1, "requires_grad": False}


def test_load_ignores_map_location_forms_but_refuses_cuda():
    data = saved_bytes(graphc.ones(1))
    for location in (None, "cpu", graphc.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s):
        assert load(io.BytesIO(data), map_location=location).tolist() == [1.0]
    with pytest.raises(RuntimeError):
        load(io.BytesIO(data), map_location="cuda")


# ---------------------------------------------------------------- unsupported objects on save


def test_save_rejects_unsupported_objects_without_touching_the_file(tmp_path):
    class Custom:
        pass

    path = tmp_path / "never.pt"
    with pytest.raises(TypeError, match="cannot save an object of type"):
        save({"x": Custom()}, path)
    assert not path.exists()
    with pytest.raises(TypeError, match="dict keys"):
        save({(1, 2): 3}, io.BytesIO())
    with pytest.raises(TypeError, match="dict keys"):
        save({1.5: 3}, io.BytesIO())
    with pytest.raises(TypeError, match="path or a writable"):
        save(1, 42)


def test_save_rejects_cycles_and_excessive_depth():
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="contains itself"):
        save(cycle, io.BytesIO())
    deep = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        save(deep, io.BytesIO())
    shared = [1]
    assert round_trip([shared, shared]) == [[1], [1]]  # repetition is not a cycle


# ---------------------------------------------------------------- hostile and broken files


def assert_refused(loading, refusal):
    """loading() raises the one refusal expected, word for word: each check has its own message,
    so this names the check that fired."""
    with pytest.raises(RuntimeError) as info:
        loading()
    assert str(info.value) == f"graphc.load: invalid checkpoint: {refusal}"


def valid_parts():
    """The header (as a dict) and data entries of a small valid checkpoint."""
    x = graphc.arange(6.).reshape(2, 3)
    with zipfile.ZipFile(io.BytesIO(saved_bytes({"x": x, "t": x.t()}))) as archive:
        header = json.loads(archive.read("header.json"))
        data = {name: archive.read(name) for name in archive.namelist() if name != "header.json"}
    return header, data


def crafted(header, data, header_text=None, compression=zipfile.ZIP_STORED):
    """A zip of header.json (stored) and the data entries (with `compression`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        text = header_text if header_text is not None else json.dumps(header)
        archive.writestr("header.json", text)
        for name, blob in data.items():
            archive.writestr(name, blob, compress_type=compression)
    buffer.seek(0)
    return buffer


def test_crafted_valid_file_loads():
    header, data = valid_parts()
    loaded = load(crafted(header, data))
    assert loaded["t"].stride() == (1, 3)


def test_random_bytes_and_empty_file_raise_runtime_error():
    rng = random.Random(0)
    for size in (0, 1, 21, 22, 100, 4096):
        blob = bytes(rng.randrange(256) for _ in range(size))
        with pytest.raises(RuntimeError, match="^graphc.load: not a graphc checkpoint: the file "
                                               "is not a readable zip archive"):
            load(io.BytesIO(blob))


def test_truncated_files_raise_runtime_error():
    data = saved_bytes({"x": graphc.arange(100.), "y": [1, 2, 3]})
    for cut in list(range(0, len(data), max(1, len(data) // 60))) + [len(data) - 1]:
        with pytest.raises(RuntimeError, match="graphc.load"):
            load(io.BytesIO(data[:cut]))


def test_flipped_bytes_never_escape_as_other_exceptions():
    data = saved_bytes({"x": graphc.arange(50.), "y": graphc.tensor([True, False]), "z": (1, "a")})
    rng = random.Random(1)
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            load(io.BytesIO(bytes(mutated)))
        except RuntimeError:
            pass


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.pt")


def test_zip_without_header_is_rejected():
    _, data = valid_parts()
    assert_refused(lambda: load(_zip_of({"data/0": data["data/0"]})),
                   "no header.json entry (not a graphc checkpoint)")


def _zip_of(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, blob in entries.items():
            archive.writestr(name, blob)
    buffer.seek(0)
    return buffer


def mutate(path, value):
    """A valid header with the field at `path` (keys/indices) replaced, or deleted for DELETE."""
    header, data = valid_parts()
    target = header
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return crafted(header, data)


DELETE = object()

MAX = str(MAX_ELEMENTS)
# (path of the field, its hostile value, the refusal: what follows "invalid checkpoint: ")
BAD_HEADERS = {
    "unknown dtype": (("tensors", 0, "dtype"), "complex64",
        "tensors[0]: unknown dtype 'complex64'"),
    "dtype alias": (("storages", 0, "dtype"), "float", "storages[0]: unknown dtype 'float'"),
    "dtype wrong type": (("storages", 0, "dtype"), 7, "storages[0]: unknown dtype '7'"),
    "tensor dtype differs from storage": (("tensors", 0, "dtype"), "int64",
        'tensors[0].dtype is int64 but its storage holds float32'),
    "stride out of bounds": (("tensors", 0, "stride"), [3, 5],
        'tensors[0]: shape [2, 3], stride [3, 5] and offset 0 reach element 13 of a '
        'storage of 6 elements'),
    "offset out of bounds": (("tensors", 0, "offset"), 6,
        'tensors[0]: shape [2, 3], stride [3, 1] and offset 6 reach element 11 of a '
        'storage of 6 elements'),
    "negative stride": (("tensors", 0, "stride"), [-3, 1],
        'tensors[0].stride[0] must be an integer in [0, ' + MAX + '], got -3'),
    "negative shape": (("tensors", 0, "shape"), [-2, 3],
        'tensors[0].shape[0] must be an integer in [0, ' + MAX + '], got -2'),
    "huge shape": (("tensors", 0, "shape"), [2 ** 40, 2 ** 40],
        'tensors[0]: shape [1099511627776, 1099511627776] has too many elements'),
    "huge stride on size one": (("tensors", 0, "stride"), [2 ** 70, 1],
        'tensors[0].stride[0] must be an integer in [0, ' + MAX + '], got 1180591620717411303424'),
    "too many dims": (("tensors", 0, "shape"), [1] * 65,
        'tensors[0].shape has 65 entries, over the 64 dimension limit'),
    "stride rank mismatch": (("tensors", 0, "stride"), [3], 'tensors[0]: 2 sizes but 1 strides'),
    "shape as string": (("tensors", 0, "shape"), "2,3", 'tensors[0].shape must be a JSON array'),
    "shape of floats": (("tensors", 0, "shape"), [2.0, 3.0],
        'tensors[0].shape[0] must be an integer in [0, ' + MAX + '], got 2.0'),
    "shape of bools": (("tensors", 0, "shape"), [True, True],
        'tensors[0].shape[0] must be an integer in [0, ' + MAX + '], got True'),
    "offset as float": (("tensors", 0, "offset"), 0.0,
        'tensors[0].offset must be an integer in [0, ' + MAX + '], got 0.0'),
    "requires_grad as int": (("tensors", 0, "requires_grad"), 1,
        'tensors[0].requires_grad must be true or false'),
    "storage index out of range": (("tensors", 0, "storage"), 5,
        'tensors[0].storage must be an integer in [0, 1), got 5'),
    "storage size lies": (("storages", 0, "size"), 2 ** 50,
        'storages[0] declares 1125899906842624 float32 elements (4503599627370496 bytes) '
        'but its entry holds 24 bytes'),
    "storage size short": (("storages", 0, "size"), 5,
        'storages[0] declares 5 float32 elements (20 bytes) but its entry holds 24 bytes'),
    "negative storage size": (("storages", 0, "size"), -1,
        'storages[0].size must be an integer in [0, ' + MAX + '], got -1'),
    "unknown storage kind": (("storages", 0, "kind"), "pickled",
        "storages[0].kind must be 'typed' or 'untyped', got 'pickled'"),
    "unknown tensor key": (("tensors", 0, "pickle"), "cos\nsystem",
        "tensors[0]: unknown keys ['pickle']"),
    "missing tensor key": (("tensors", 0, "offset"), DELETE, "tensors[0]: missing keys ['offset']"),
    "unknown header key": (("extra",), 1, "header: unknown keys ['extra']"),
    "wrong format": (("format",), "torch", "header format is 'torch', expected 'graphc'"),
    "newer version": (("version",), 2,
        'written by a newer graphc (format version 2); this graphc reads version 1'),
    "version as string": (("version",), "1", 'header version must be an integer'),
    "big endian": (("byteorder",), "big", "byteorder must be 'little', got 'big'"),
    "storages not a list": (("storages",), {"0": 1}, 'storages must be a JSON array'),
    "unknown node type": (("root", "type"), "pickle", "unknown node type 'pickle'"),
    "node type not a string": (("root", "type"), ["dict"], 'unknown node type "[\'dict\']"'),
    "bare array node": (("root",), [1, 2],
        'a bare JSON array is not a node (lists are written {"type": "list", ...})'),
    "dict item not a pair": (("root", "items", 0), ["x"], 'dict items must be [key, value] pairs'),
    "dict key float": (("root", "items", 0, 0), 1.5,
        'dict keys must be strings or integers, got float'),
    "dict key null": (("root", "items", 0, 0), None,
        'dict keys must be strings or integers, got NoneType'),
    "tensor node index out of range": (("root", "items", 0, 1, "index"), 99,
        'tensor node index must be an integer in [0, 2), got 99'),
    "tensor node index bool": (("root", "items", 0, 1, "index"), True,
        'tensor node index must be an integer in [0, 2), got True'),
    "extra node key": (("root", "module"), "os", "dict node: unknown keys ['module']"),
    "float node bad value": (("root", "items", 0, 1), {"type": "float", "value": "1e5"},
        "a float node's value must be 'nan', 'inf' or '-inf'"),
    "bad dtype node": (("root", "items", 0, 1), {"type": "dtype", "name": "object"},
        "dtype node: unknown dtype 'object'"),
    "bad device node": (("root", "items", 0, 1), {"type": "device", "name": "tpu"},
        "invalid device name 'tpu'"),
    "bad size node": (("root", "items", 0, 1), {"type": "size", "items": ["a"]},
        "a size node's items must be at most 64 integers"),
    "requires_grad as string": (("tensors", 0, "requires_grad"), "yes",
        'tensors[0].requires_grad must be true or false'),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_malicious_header_fields_are_rejected(case):
    path, value, refusal = BAD_HEADERS[case]
    assert_refused(lambda: load(mutate(path, value)), refusal)


def test_requires_grad_on_integer_tensor_is_rejected():
    header, _ = valid_parts()
    header["storages"] = [{"kind": "typed", "dtype": "int64", "size": 1}]
    header["tensors"] = [{"storage": 0, "dtype": "int64", "shape": [], "stride": [], "offset": 0,
                          "requires_grad": True}]
    header["root"] = {"type": "tensor", "index": 0}
    assert_refused(lambda: load(crafted(header, {"data/0": bytes(8)})),
                   "tensors[0]: only floating point tensors can require gradients")


def test_header_json_problems_are_rejected():
    header, data = valid_parts()
    overflowing_root = json.dumps(dict(header, root={"type": "list", "items": ["OVERFLOW"]}))
    cases = {  # name: (header.json's text, the refusal)
        "not json": ("{not json", "header.json is not valid JSON: Expecting property name "
                                  "enclosed in double quotes: line 1 column 2 (char 1)"),
        "not utf8": (b"\xff\xfe{}", "header.json is not UTF-8: 'utf-8' codec can't decode byte "
                                     "0xff in position 0: invalid start byte"),
        "nan constant": (json.dumps(header).replace('"version": 1', '"version": NaN'),
                         "header.json is not valid JSON: NaN is not allowed"),
        "duplicate key": (json.dumps(header)[:-1] + ', "root": null}',
                          "header.json is not valid JSON: duplicate key 'root'"),
        "array at top": ("[1, 2]", "header.json must hold a JSON object"),
        "deep nesting": ("[" * 100000 + "]" * 100000, "header.json is nested too deeply"),
        "overflowing number": (overflowing_root.replace('"OVERFLOW"', "1e999"),
                               "a number in the header overflows to infinity"),
    }
    for name, (text, refusal) in cases.items():
        assert_refused(lambda: load(crafted(header, data, header_text=text)), refusal)


def test_deeply_nested_nodes_are_rejected():
    header, data = valid_parts()
    node = None
    for _ in range(150):
        node = {"type": "list", "items": [node]}
    header["root"] = node
    assert_refused(lambda: load(crafted(header, data)),
                   "containers are nested deeper than 100 levels")


def test_duplicate_dict_keys_in_nodes_are_rejected():
    header, data = valid_parts()
    header["root"] = {"type": "dict", "items": [["a", 1], ["a", 2]]}
    assert_refused(lambda: load(crafted(header, data)), "duplicate dict key 'a'")


@pytest.mark.parametrize("name", ["../data/0", "/etc/passwd", "data/../data/0", "data/00",
                                  "data\\0", "data/0/", "evil.py"])
def test_unexpected_entry_names_are_rejected(name):
    header, data = valid_parts()
    data[name] = b"\0" * 48
    assert_refused(lambda: load(crafted(header, data)), f"unexpected zip entry name {name!r} "
                                                        f"(graphc writes header.json and "
                                                        f"data/<index>)")


def test_data_entry_without_a_storage_is_rejected():
    header, data = valid_parts()
    data["data/1"] = b"\0" * 48
    assert_refused(lambda: load(crafted(header, data)),
                   "zip entry 'data/1' belongs to no storage (the header declares 1 storages)")


def test_missing_data_entry_is_rejected():
    header, _ = valid_parts()
    assert_refused(lambda: load(crafted(header, {})), "missing zip entry 'data/0'")


def test_duplicate_entries_are_rejected():
    header, data = valid_parts()
    buffer = crafted(header, data)
    with zipfile.ZipFile(buffer, "a") as archive:
        with pytest.warns(UserWarning):
            archive.writestr("data/0", data["data/0"])
    buffer.seek(0)
    assert_refused(lambda: load(buffer), "duplicate zip entry 'data/0'")


def test_compressed_entries_are_rejected_before_decompression():
    header, data = valid_parts()
    header["storages"][0]["size"] = 2 ** 27  # a 1 GiB float64 storage of zeros ...
    bomb = crafted(header, {"data/0": bytes(8 * 2 ** 17)}, compression=zipfile.ZIP_DEFLATED)
    assert_refused(lambda: load(bomb),
                   "zip entry 'data/0' is compressed; graphc checkpoints store raw bytes")


def test_bool_storage_with_invalid_bytes_is_rejected():
    header, _ = valid_parts()
    header["storages"] = [{"kind": "typed", "dtype": "bool", "size": 2}]
    header["tensors"] = [{"storage": 0, "dtype": "bool", "shape": [2], "stride": [1], "offset": 0,
                          "requires_grad": False}]
    header["root"] = {"type": "tensor", "index": 0}
    assert load(crafted(header, {"data/0": b"\x01\x00"})).tolist() == [True, False]
    assert_refused(lambda: load(crafted(header, {"data/0": b"\x01\x07"})),
                   "storages[0]: a bool storage holds bytes other than 0 and 1")


def test_corrupted_data_fails_the_crc_check():
    data = bytearray(saved_bytes(graphc.arange(64.)))
    position = data.index(np.arange(64, dtype=np.float32).tobytes()[4 * 10: 4 * 12])
    data[position] ^= 0xFF
    with pytest.raises(RuntimeError) as info:
        load(io.BytesIO(bytes(data)))
    assert str(info.value) == ("graphc.load: the checkpoint is corrupted or truncated: "
                               "Bad CRC-32 for file 'data/0'")


def test_loading_never_imports_or_calls_anything_named_in_the_file(monkeypatch):
    import builtins
    calls = []
    real_import = builtins.__import__

    def tracking_import(name, *args, **kwargs):
        calls.append(name)
        return real_import(name, *args, **kwargs)

    header, data = valid_parts()
    header["root"] = {"type": "dict", "items": [["os", {"type": "list", "items": ["system"]}]]}
    blob = crafted(header, data)
    monkeypatch.setattr(builtins, "__import__", tracking_import)
    loaded = load(blob)
    monkeypatch.undo()
    assert loaded == {"os": ["system"]}
    assert "os" not in calls and "subprocess" not in calls and "pickle" not in calls


def test_loaded_tensors_are_independent_of_the_file_buffer():
    buffer = io.BytesIO(saved_bytes(graphc.arange(3.)))
    loaded = load(buffer)
    buffer.seek(0)
    buffer.write(b"\0" * len(buffer.getvalue()))
    loaded.add_(1)  # writable, and owns its memory
    assert loaded.tolist() == [1.0, 2.0, 3.0]


def _loaded_views(lib, save_and_load):
    """Strides, offsets and values of three views of one storage after a round trip; and
    whether they still share it."""
    x = lib.arange(12.)
    loaded = save_and_load({"a": x, "b": x.narrow(0, 1, 11).view(11, 1), "t": x.view(3, 4).t()})
    loaded["a"][1] = 100.0
    return {key: (tuple(view.stride()), view.storage_offset(), view.tolist())
            for key, view in loaded.items()}


def _torch_round_trip(torch):
    def save_and_load(objects):
        buffer = io.BytesIO()
        torch.save(objects, buffer)
        buffer.seek(0)
        return torch.load(buffer)
    return save_and_load


def test_matches_torch_semantics_for_shared_views():
    theirs = oracle.answer("views", lambda torch: _loaded_views(torch, _torch_round_trip(torch)))
    assert _loaded_views(graphc, round_trip) == theirs
