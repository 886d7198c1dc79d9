"""The control plane's infrastructure: ``/api/v1`` routes (:mod:`.api`, :mod:`.openapi`), the
stream runtime (:mod:`.runtime`), the ``relay-control`` bucket (:mod:`.store`), the status
views (:mod:`.status`) and their wiring (:mod:`.plane`); docs/control.md."""
