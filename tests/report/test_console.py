"""The terminal tables never elide what a reader needs (the change, the path), at any width."""

from pathlib import Path

import pytest
from rich.console import Console

from migrate.codemod.findings import FileResult, Finding
from migrate.report.console import findings_table, skipped_table

LONG_PATH = Path("language/use-cases/description-generation/product_description_generator_attributes_to_text.ipynb")
MESSAGE = "vertexai.generative_models.GenerationConfig(...) -> types.GenerateContentConfig(...) in every call"


def column_text(table, width: int, column: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    lines = [line.split("│") for line in console.export_text().splitlines() if line.startswith("│")]
    return "".join(cells[column + 1] for cells in lines).replace(" ", "")


@pytest.mark.parametrize("width", [60, 80, 100, 200])
def test_findings_table_keeps_every_character_of_the_message_and_location(width):
    result = FileResult(LONG_PATH, "changed", [Finding("FLM201", "safe", 12, 5, MESSAGE, "x", "y", applied=True, cell=10)])
    table = findings_table([result], lambda p: p.as_posix())
    assert column_text(table, width, 3) == (MESSAGE + "(will apply)").replace(" ", "")
    assert column_text(table, width, 0) == f"{LONG_PATH.as_posix()}:cell10:12:5"
    assert column_text(table, width, 1) == "FLM201"


@pytest.mark.parametrize("width", [60, 100])
def test_skipped_table_keeps_the_reason(width):
    reason = "syntax error at cell 28, line 189: parser error: expected one of !=, %, &, (, *, **"
    table = skipped_table([FileResult(LONG_PATH, "skipped", reason=reason)], lambda p: p.as_posix())
    assert column_text(table, width, 1) == reason.replace(" ", "")
