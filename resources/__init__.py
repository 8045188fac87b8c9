"""One declaration per model of what it exposes and to whom.

The data API (``api/data``) and the admin panel are generated from these declarations; a
model plus its declaration is all a new resource needs. Rules that go beyond a declaration
(creating a course also lists it in the catalog, say) are domain functions in ``services``
that a declaration names, so the API and the admin panel run the same code.
"""

from resources.declaration import Operation, Resource, all_rows

__all__ = ["Operation", "Resource", "all_rows"]
