"""Tools built on the core: hosts and validators that run exported model.nm files."""
