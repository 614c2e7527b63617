"""Sources of figures: one package per source (cbs, lisa, crosswalk), each implementing
regiostat.sources.protocol.Source, and listed in regiostat.sources.registry."""
