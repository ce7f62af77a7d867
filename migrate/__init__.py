"""flashlite-migrate: move Gemini Pro code onto google-genai and a Flash-Lite model, with evidence."""

__version__ = "0.1.0"
