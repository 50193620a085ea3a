"""The README's command reference is the parsers': every command and option it lists exists,
every command exists in it, and the exit codes it documents are the ones --help prints.

Two commands: ``lakeguard`` (the lake) and ``lakeguard-eval`` (the detectors' evaluation).
"""

import re
from pathlib import Path

import pytest

from lakeguard.cli import build_parser
from lakeguard.cli.support import all_parsers
from lakeguard_eval.cli import build_parser as build_eval_parser

README = Path(__file__).resolve().parents[2] / "README.md"

#: Each command's name and parser.
PROGRAMS = {"lakeguard": build_parser, "lakeguard-eval": build_eval_parser}


def _section():
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Command line\n"):text.index("## How a file travels\n")]


def _commands(prog):
    """Parser of every runnable command, by its name without the leading program name."""
    return {p.prog.removeprefix(f"{prog} "): p for p in all_parsers(PROGRAMS[prog]())
            if p.prog != prog and p.get_default("func") is not None}


def _listed(prog):
    rows = re.findall(rf"^\| `{re.escape(prog)} ([a-z ]+)` \|[^|]*\|([^|]*)\|$", _section(), re.M)
    return {command: re.findall(r"`(--[a-z-]+)`", options) for command, options in rows}


@pytest.mark.parametrize("prog", PROGRAMS)
def test_every_command_in_the_readme_exists_with_the_options_it_lists(prog):
    commands = _commands(prog)
    for command, options in _listed(prog).items():
        assert command in commands, command
        known = {o for a in commands[command]._actions for o in a.option_strings}
        assert set(options) <= known, (command, set(options) - known)


@pytest.mark.parametrize("prog", PROGRAMS)
def test_every_command_is_in_the_readme(prog):
    assert set(_commands(prog)) == set(_listed(prog))


def test_the_exit_codes_are_those_help_prints():
    documented = dict(re.findall(r"^\| (\d) \| ([^|]+) \|$", _section(), re.M))
    help_text = build_parser().format_help()
    assert set(documented) == {"0", "1", "2", "3"}
    for code in documented:
        assert re.search(rf"^  {code}  \S", help_text, re.M), code


@pytest.mark.parametrize("prog", PROGRAMS)
def test_every_option_of_a_command_is_in_the_readme(prog):
    shared = {"-h", "--help", "--region", "--profile", "--debug", "--json"}  # listed once above
    listed = _listed(prog)
    for command, parser in _commands(prog).items():
        own = {o for a in parser._actions for o in a.option_strings} - shared
        assert own <= set(listed[command]), (command, own - set(listed[command]))
