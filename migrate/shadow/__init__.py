"""Shadow-compare: the same prompts to the Pro model and the Flash-Lite candidate, judged honestly."""
