"""Collation, as torch.utils.data._utils.collate: default_collate turns a list of
samples into a batch (tensors stacked on a new first dimension, numbers and numpy data
made tensors, containers collated field by field); default_convert converts one sample's
numpy data into tensors.  collate() with a collate_fn_map is the extensible form
default_collate is built on (torch 1.13 has the same).

tensord has no worker processes yet (see dataloader.py), so the batch is never built in
shared memory: collate_tensor_fn is a plain stack."""
import collections.abc
import re

import numpy as np

from .... import _C
from ...._creation import as_tensor, tensor
from ...._dtype import float64
from ...._records import stack

__all__ = ["collate", "collate_tensor_fn", "collate_numpy_array_fn", "collate_numpy_scalar_fn",
           "collate_float_fn", "collate_int_fn", "collate_str_fn", "default_collate_fn_map", "default_collate",
           "default_convert"]

np_str_obj_array_pattern = re.compile(r"[SaUO]")  # numpy dtypes of strings and objects: no tensor for them
string_classes = (str, bytes)
default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def _is_numpy_value(elem_type):
    return elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_", "bytes_")


def default_convert(data):
    """numpy arrays and scalars in data become tensors (string and object arrays stay);
    mappings, namedtuples and sequences are converted element by element (a plain tuple
    becomes a list, as in torch); anything else is returned unchanged."""
    elem_type = type(data)
    if isinstance(data, _C.TensorBase):
        return data
    if _is_numpy_value(elem_type):
        if elem_type.__name__ == "ndarray" and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:  # a mapping type that cannot be built from a dict
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, string_classes):
        try:
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def collate(batch, *, collate_fn_map=None):
    """Collates batch (a list of samples) by the type of its first element: a type in
    collate_fn_map (exact, then isinstance in the map's order) uses that function;
    mappings, namedtuples and sequences are collated field by field; anything else is a
    TypeError."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        try:
            return elem_type({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem})
        except TypeError:
            return {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        try:
            return elem_type([collate(samples, collate_fn_map=collate_fn_map) for samples in transposed])
        except TypeError:
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    return stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    # through one numpy array: it keeps the scalars' dtype (int32 stays int32), where a
    # list of numpy scalars would be typed like Python numbers by tensord.tensor
    return as_tensor(np.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    return tensor(batch, dtype=float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map = {
    _C.TensorBase: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    string_classes: collate_str_fn,
}


def default_collate(batch):
    """The DataLoader's collate_fn when it batches: a list of B samples becomes one batch.

    Tensor -> stacked (B, *); numpy array -> tensor, stacked; numpy scalar -> tensor of B;
    float -> float64 tensor; int -> int64 tensor (bool -> bool tensor); str/bytes ->
    the list unchanged; Mapping -> same mapping type, each key collated; namedtuple ->
    same namedtuple, each field collated; tuple -> list of collated fields; other
    Sequence (equal lengths) -> same type (else list) of collated positions.  Other types
    raise TypeError (torch's message)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
