"""The README's command reference is the parser's: every command and option it lists exists,
every command exists in it, and the exit codes it documents are the ones --help prints."""

import re
from pathlib import Path

from lakeguard.cli import build_parser
from lakeguard.cli_support import all_parsers

README = Path(__file__).resolve().parents[2] / "README.md"


def _section():
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Command line\n"):text.index("## How a file travels\n")]


def _commands():
    """Parser of every runnable command, by its name without the leading 'lakeguard '."""
    return {p.prog.removeprefix("lakeguard "): p for p in all_parsers(build_parser())
            if p.prog != "lakeguard" and p.get_default("func") is not None}


def _listed():
    rows = re.findall(r"^\| `lakeguard ([a-z ]+)` \|[^|]*\|([^|]*)\|$", _section(), re.M)
    return {command: re.findall(r"`(--[a-z-]+)`", options) for command, options in rows}


def test_every_command_in_the_readme_exists_with_the_options_it_lists():
    commands = _commands()
    for command, options in _listed().items():
        assert command in commands, command
        known = {o for a in commands[command]._actions for o in a.option_strings}
        assert set(options) <= known, (command, set(options) - known)


def test_every_command_is_in_the_readme():
    assert set(_commands()) == set(_listed())


def test_the_exit_codes_are_those_help_prints():
    documented = dict(re.findall(r"^\| (\d) \| ([^|]+) \|$", _section(), re.M))
    help_text = build_parser().format_help()
    assert set(documented) == {"0", "1", "2", "3"}
    for code in documented:
        assert re.search(rf"^  {code}  \S", help_text, re.M), code


def test_every_option_of_a_command_is_in_the_readme():
    shared = {"-h", "--help", "--region", "--profile", "--debug", "--json"}  # listed once above
    listed = _listed()
    for command, parser in _commands().items():
        own = {o for a in parser._actions for o in a.option_strings} - shared
        assert own <= set(listed[command]), (command, own - set(listed[command]))
