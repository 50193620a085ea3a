"""pyiceberg's S3 file IO with fewer requests: whole small files in one, metadata read once.

pyarrow's S3 filesystem, which pyiceberg's ``PyArrowFileIO`` uses, asks S3 for a file's
size (``HeadObject``) before it reads it, and uploads every file, however small, as a
multipart upload (create, one part, complete), after a ``HeadObject`` checking that it
does not exist yet. A Publish of three tables writes fifteen small files and reads some
sixty, so most of its requests were these. :class:`LakeFileIO` keeps pyarrow for large
files and does the small ones in one request each:

- a read is one ``GetObject``; a file larger than :data:`~lakeguard.config.
  ICEBERG_SINGLE_REQUEST_BYTES` (the answer's ``ContentLength`` says so before the body
  is read) is left unread and opened through pyarrow as before;
- a write is buffered and sent as one ``PutObject`` on close (``If-None-Match: *`` when
  the file must not exist, which S3 checks atomically); past the same size the buffered
  bytes go on into pyarrow's multipart upload, so memory stays bounded.

Iceberg's metadata files (table metadata, manifest lists, manifests) are written once
under a name nobody reuses (a UUID or snapshot id in it) and never changed, so the bytes
of one read or written are remembered by location in this process (a warm Lambda
environment reads the same manifests on every run). What changes is which metadata file
is current: that comes from the catalog (Glue ``GetTable``) on every load, never from
here. Data files are not remembered: their rows can be erased.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import Any

import pyarrow as pa
from botocore.exceptions import ClientError
from pyiceberg.io import OutputStream
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO

from lakeguard import config
from lakeguard.aws import client

#: Names of Iceberg metadata files, which are written once and never changed.
IMMUTABLE_SUFFIXES = (".metadata.json", ".avro")


def immutable(location: str) -> bool:
    """Whether ``location`` names an Iceberg metadata file (safe to remember by name)."""
    return "/metadata/" in location and location.endswith(IMMUTABLE_SUFFIXES)


class MetadataMemo:
    """Bytes of metadata files by location, least recently used forgotten past a budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, location: str) -> bytes | None:
        """The remembered bytes, or ``None``."""
        with self._lock:
            data = self._files.get(location)
            if data is not None:
                self._files.move_to_end(location)
            return data

    def put(self, location: str, data: bytes) -> None:
        """Remember a metadata file's bytes (files above the budget are not)."""
        if not immutable(location) or len(data) > self.budget:
            return
        with self._lock:
            if location in self._files:
                return
            self._files[location] = data
            self._size += len(data)
            while self._size > self.budget:
                _, dropped = self._files.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._files.clear()
            self._size = 0


#: This process's memo of metadata files (a warm Lambda environment keeps it between runs).
MEMO = MetadataMemo(config.ICEBERG_METADATA_MEMO_BYTES)


def _bucket_key(location: str) -> tuple[str, str]:
    bucket, _, key = location.split("://", 1)[1].partition("/")
    return bucket, key


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


class _SmallFirstUpload(OutputStream):
    """Bytes kept in memory and put in one request, or streamed by pyarrow once large."""

    def __init__(self, file: LakeFile, overwrite: bool) -> None:
        self._file, self._overwrite = file, overwrite
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._stream: Any = None
        self._written = 0
        self.closed = False

    def write(self, b: bytes) -> int:
        """Buffer ``b``; past the threshold, hand everything to pyarrow's upload."""
        if self._buffer is not None:
            self._buffer.write(b)
            if self._buffer.tell() > config.ICEBERG_SINGLE_REQUEST_BYTES:
                self._stream = self._file.pyarrow_create(self._overwrite)
                self._stream.write(self._buffer.getvalue())
                self._buffer = None
        else:
            self._stream.write(b)
        self._written += len(b)
        return len(b)

    def tell(self) -> int:
        """Bytes written so far (pyarrow's writers ask)."""
        return self._written

    def writable(self) -> bool:
        """Always: this is an output stream."""
        return True

    def flush(self) -> None:
        """Nothing to do before close: the object only exists once closed."""

    def close(self) -> None:
        """Put the buffered bytes in one request, or finish pyarrow's upload."""
        if self.closed:
            return
        self.closed = True
        if self._buffer is None:
            self._stream.close()
            self._file.size = self._written
            return
        data, self._buffer = self._buffer.getvalue(), None
        self._file.put(data, self._overwrite)

    def __enter__(self) -> _SmallFirstUpload:
        """Use as a context manager: closed (and so uploaded) on exit."""
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Upload on a normal exit; after an exception, leave no half-written file."""
        if kind is None or self._buffer is None:
            self.close()
        else:
            self._buffer, self.closed = None, True


class LakeFile(PyArrowFile):
    """A file read and written in one request when it is small (see the module)."""

    #: The file's size once this object read or wrote it whole (``len()`` asks S3 otherwise).
    size: int | None = None

    def __len__(self) -> int:
        """The file's size: known after a whole read or write, else from S3."""
        return self.size if self.size is not None else super().__len__()

    def open(self, seekable: bool = True) -> Any:
        """The file's bytes from the memo or one GET; through pyarrow when large."""
        remembered = MEMO.get(self.location)
        if remembered is not None:
            self.size = len(remembered)
            return pa.BufferReader(remembered)
        bucket, key = _bucket_key(self.location)
        s3 = client("s3")
        try:
            answer = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if _error_code(err) in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"Cannot open file, does not exist: {self.location}") \
                    from err
            if _error_code(err) in ("AccessDenied", "403"):
                raise PermissionError(f"Cannot open file, access denied: {self.location}") \
                    from err
            raise
        if int(answer.get("ContentLength", 0)) > config.ICEBERG_SINGLE_REQUEST_BYTES:
            answer["Body"].close()  # large: pyarrow reads only the ranges it needs
            return super().open(seekable)
        data: bytes = answer["Body"].read()
        MEMO.put(self.location, data)
        self.size = len(data)
        return pa.BufferReader(data)

    def pyarrow_create(self, overwrite: bool) -> Any:
        """The output stream pyarrow would give: a multipart upload, for large files."""
        return super().create(overwrite)

    def create(self, overwrite: bool = False) -> OutputStream:
        """A stream that uploads on close, in one PutObject while the file is small."""
        return _SmallFirstUpload(self, overwrite)

    def put(self, data: bytes, overwrite: bool) -> None:
        """One PutObject; without ``overwrite``, S3 itself refuses an existing file."""
        bucket, key = _bucket_key(self.location)
        condition = {} if overwrite else {"IfNoneMatch": "*"}
        try:
            client("s3").put_object(Bucket=bucket, Key=key, Body=data, **condition)
        except ClientError as err:
            if _error_code(err) in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise FileExistsError(f"Cannot create file, already exists: {self.location}") \
                    from err
            if _error_code(err) in ("AccessDenied", "403"):
                raise PermissionError(f"Cannot create file, access denied: {self.location}") \
                    from err
            raise
        MEMO.put(self.location, data)
        self.size = len(data)


class LakeFileIO(PyArrowFileIO):
    """pyiceberg's pyarrow file IO, small files in one request (see the module)."""

    def new_input(self, location: str) -> PyArrowFile:
        """A file to read: :class:`LakeFile` on S3, pyarrow's own elsewhere."""
        return self._file(location) if location.startswith(("s3://", "s3a://")) \
            else super().new_input(location)

    def new_output(self, location: str) -> PyArrowFile:
        """A file to write: :class:`LakeFile` on S3, pyarrow's own elsewhere."""
        return self._file(location) if location.startswith(("s3://", "s3a://")) \
            else super().new_output(location)

    def _file(self, location: str) -> LakeFile:
        scheme, netloc, path = self.parse_location(location, self.properties)
        return LakeFile(location=location, path=path, fs=self.fs_by_scheme(scheme, netloc))
