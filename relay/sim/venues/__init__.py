"""Each venue's side of a simulated connection, registered by venue id (:mod:`.registry`)."""
