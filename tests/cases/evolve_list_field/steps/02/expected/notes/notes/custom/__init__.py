# Created by gen from spec once; yours to edit. `gen build` never overwrites this file.
"""Your code: service hooks per entity, called by the generated services."""
