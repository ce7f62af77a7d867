"""Stand-in for abseil, which Google's samples use only as `absltest` (unittest); not installed here."""
