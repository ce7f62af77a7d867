"""Help text that reads the way people expect from a command line.

Left alone, typer shows Python types as if every flag took a value (`--diff <bool>`,
`paths... <list[str]>`), writes a required argument as `{paths}...` in the usage line, and reads
help strings as rich markup, so `[tool.flashlite-migrate]` vanishes. One pass over the built
command tree (every command, `shadow` included) gives flags no value placeholder, options a
conventional one (`N`, `PATH`, `text|json`, the option's name), arguments `PATH...`, and escapes
the help text.
"""

from __future__ import annotations

import enum
import pathlib
import typing

from rich.markup import escape
from typer.core import TyperArgument, TyperGroup, TyperOption


def tidy(command) -> None:
    _flag_help_option(command)
    command.help = escape(command.help) if command.help else command.help
    command.short_help = escape(command.short_help) if command.short_help else command.short_help
    for param in command.params:
        if getattr(param, "help", None):
            param.help = escape(param.help)
        if isinstance(param, TyperOption):
            _option(param)
        elif isinstance(param, TyperArgument):
            _argument(param)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            tidy(sub)


def _flag_help_option(command) -> None:
    """`--help` is made when help is asked for, so it is tidied then."""
    make = command.get_help_option

    def help_option(ctx):
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option


def _placeholder(annotation, name: str) -> str:
    element = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else annotation
    if isinstance(element, type) and issubclass(element, enum.Enum):
        return "|".join(str(member.value) for member in element)
    if element is int:
        return "N"
    if element is float:
        return "NUMBER"
    if element is pathlib.Path:
        return "PATH"
    return name.upper().replace("-", "_")


def _option(option: TyperOption) -> None:
    if option.is_flag:
        option.metavar = ""
    elif option.metavar is None:
        option.metavar = _placeholder(option.type_descriptor.annotation, option.name or "value")


def _argument(argument: TyperArgument) -> None:
    if argument.metavar is None:
        name = _placeholder(argument.type_descriptor.annotation, argument.name or "value")
        argument.metavar = "PATH" if name in ("PATHS", "PATH") else name
    shown = argument.metavar + ("..." if argument.nargs != 1 else "")
    usage = shown if argument.required else f"[{shown}]"
    argument.get_usage_pieces = lambda ctx: [usage]  # typer writes a required argument as {name}
    argument.display_type_rich = lambda ctx: None  # the name says it; no Python type beside it
