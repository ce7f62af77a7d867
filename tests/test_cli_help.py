"""Every help screen reads as a command line's should: no Python types, no lost text, --verbose listed."""

import os
import re
import subprocess
import sys

import typer
from typer.core import TyperGroup

from migrate import cli


def command_paths():
    cli._mount_subcommands()
    found = []

    def walk(command, path):
        found.append(path)
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(typer.main.get_command(cli.app), [])
    return found


def help_of(*path):
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    result = subprocess.run([sys.executable, "-m", "migrate", *path, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_no_help_screen_shows_python_types_or_braces():
    paths = command_paths()
    assert ["shadow", "run"] in paths and ["fix"] in paths
    for path in paths:
        text = help_of(*path)
        assert not re.search(r"<(bool|str|int|float|list\[[^>]*\]|Path)>", text), (path, text)
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert "{" not in usage, (path, usage)


def test_fix_help_reads_like_a_command_line():
    text = help_of("fix")
    assert "Usage: python -m migrate fix [OPTIONS] PATH..." in text
    assert re.search(r"--target\s+MODEL\s", text) and re.search(r"--jobs\s+-j\s+N\s", text)
    assert re.search(r"--diff\s+Dry run", text)  # a flag takes no value


def test_markup_like_text_survives_and_verbose_is_listed():
    root = help_of()
    assert "[tool.flashlite-migrate]" in root and "--verbose" in root
    assert "[tool.flashlite-migrate]" in help_of("config")
