"""The embedded lake's remembered answers are the answers it would compute afresh.

GIVEN zips and hosts, WHEN the code store and moto's request dispatcher answer from what
they remember, THEN every answer is the one a fresh computation gives.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lakeguard.local.lambda_service import CodeStore


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


_FILES = st.dictionaries(st.sampled_from(["a.py", "b.txt", "pkg/c.py"]), st.binary(max_size=40),
                         min_size=1)


@settings(max_examples=25, deadline=None)
@given(contents=st.lists(_FILES, min_size=1, max_size=6),
       order=st.lists(st.integers(min_value=0, max_value=20), max_size=30))
def test_a_remembered_folder_is_the_folder_of_that_content(tmp_path_factory, contents, order):
    """Copies of equal bytes, repeats and replaced objects all get their content's folder."""
    store = CodeStore(tmp_path_factory.mktemp("unpacked"))
    store.REMEMBERED = 3  # type: ignore[misc]  # forgetting is exercised too
    zips = [_zip(files) for files in contents]
    for index in [*range(len(zips)), *order]:
        content = bytes(bytearray(zips[index % len(zips)])) if index % 2 else zips[index % len(zips)]
        folder = store.unpack(content)
        assert folder.name == hashlib.sha256(content).hexdigest()[:24]
        for name, body in contents[index % len(zips)].items():
            assert (folder / name).read_bytes() == body


def test_a_new_object_is_digested_again_even_where_an_old_one_was_remembered(tmp_path: Path):
    """A redeploy hands the store a new bytes object: the store does not trust the old answer."""
    store = CodeStore(tmp_path)
    first, second = _zip({"a.py": b"1"}), _zip({"a.py": b"2"})
    assert store.unpack(first) != store.unpack(second)
    assert (store.unpack(second) / "a.py").read_bytes() == b"2"
    assert (store.unpack(first) / "a.py").read_bytes() == b"1"


def test_each_hosts_backend_is_the_one_moto_finds():
    """The dispatcher remembers the backend moto's own lookup gives for each host."""
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from lakeguard.local import gaps

    listing, original = backends.list_of_moto_modules, DomainDispatcherApplication.get_backend_for_host
    listed = tuple(listing())
    hosts = [None, "moto_api", "s3", "s3.us-east-1.amazonaws.com", "glue.us-east-1.amazonaws.com",
             "states.us-east-1.amazonaws.com", "lambda.us-east-1.amazonaws.com",
             "bucket.s3.amazonaws.com", "dynamodb.eu-west-3.amazonaws.com", "unknown.example"]
    app = DomainDispatcherApplication(lambda _: None)  # type: ignore[arg-type,return-value]
    fresh = [original(app, host) for host in hosts]
    gaps.find_each_requests_backend_once()
    try:
        assert tuple(backends.list_of_moto_modules()) == listed
        assert [app.get_backend_for_host(host) for host in hosts * 2] == fresh * 2
        assert "s3" in fresh and None in fresh  # the hosts above do reach and miss backends
    finally:
        DomainDispatcherApplication.get_backend_for_host = original  # type: ignore[method-assign]
        backends.list_of_moto_modules = listing


def _shape(component: object, depth: int = 0) -> object:
    """A component tree as nested (type, attributes) tuples, leaves by value."""
    if depth > 40 or isinstance(component, str | int | float | bool | type(None)):
        return component
    if isinstance(component, list | tuple):
        return [_shape(c, depth + 1) for c in component]
    if isinstance(component, dict):
        return {k: _shape(v, depth + 1) for k, v in component.items()}
    attributes = getattr(component, "__dict__", None)
    if attributes is None:
        return type(component).__name__
    return (type(component).__name__,
            {k: _shape(v, depth + 1) for k, v in sorted(attributes.items())
             if not k.startswith("_") and "ctx" not in k})


def test_each_execution_gets_components_of_its_own_built_as_a_fresh_parse_builds_them():
    """The remembered syntax tree gives the components a fresh parse gives, new each time."""
    import re

    import pytest
    from moto.stepfunctions.parser.asl.parse.asl_parser import (
        AmazonStateLanguageParser,
        ASLParserException,
    )

    from lakeguard.local import gaps

    # the pipeline's definition, its ${...} substitutions as CloudFormation would fill them
    definition = re.sub(r"\$\{[^}]+\}", "arn:aws:lambda:us-east-1:123456789012:function:f",
                        (Path(__file__).resolve().parents[2] / "statemachines" /
                         "pipeline.asl.json").read_text("utf-8"))
    original = AmazonStateLanguageParser.parse
    fresh = _shape(original(definition)[0])
    gaps.parse_each_state_machine_definition_once()
    try:
        first, second = (AmazonStateLanguageParser.parse(definition)[0] for _ in range(2))
        assert first is not second
        assert _shape(first) == _shape(second) == fresh
        for _ in range(2):  # a definition that does not parse is refused every time
            with pytest.raises(ASLParserException):
                AmazonStateLanguageParser.parse('{"StartAt": "A", "States": {"A": ')
    finally:
        AmazonStateLanguageParser.parse = original  # type: ignore[method-assign]
