"""The runtime control plane: the desired streams (:mod:`.desired`), the service changing
them (:mod:`.service`) and what the API shows of each stream (:mod:`.view`)."""
