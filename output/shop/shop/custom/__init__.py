# Created by gen from specs/shop once; yours to edit. `gen build` never overwrites this file.
"""Your code: service hooks per entity, called by the generated services."""
