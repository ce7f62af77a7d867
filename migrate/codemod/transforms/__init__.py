"""Transform families. Each module exposes `run(ctx)`; the engine calls them in this order on one parse."""

from migrate.codemod.port import rewrite as port
from migrate.codemod.transforms import models

TRANSFORMS = (models.run, port.run)
