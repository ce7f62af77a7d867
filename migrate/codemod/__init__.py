"""The codemod engine: find Gemini call sites, rewrite them, report what needs a person."""
