"""Counts in English: "1 error", "2 errors", "1 retry", "3 retries" (codemod and shadow reports)."""


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else many or noun + 's'}"
