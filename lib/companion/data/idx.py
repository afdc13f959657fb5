"""A reader for the IDX format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values in C order, big-endian.
"""

import math
import struct

import numpy as np

from .manifest import DataError

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(buf, source):
    """Return the array stored in the IDX bytes ``buf``; ``source`` names the file in errors."""
    if len(buf) < 4 or buf[0] or buf[1] or buf[2] not in _DTYPES:
        raise DataError(f"{source} is not an IDX file: magic bytes {buf[:4].hex() or 'missing'}, "
                        f"expected 0000 then a type code in {[hex(c) for c in _DTYPES]}")
    ndim, header = buf[3], 4 + 4 * buf[3]
    if len(buf) < header:
        raise DataError(f"{source}: IDX header promises {ndim} dimensions but the file ends first")
    shape = struct.unpack(f">{ndim}I", buf[4:header])
    dtype = np.dtype(_DTYPES[buf[2]])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(buf) != expected:
        raise DataError(f"{source}: IDX header promises shape {shape} ({expected} bytes) "
                        f"but the file holds {len(buf)} bytes")
    return np.frombuffer(buf, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
