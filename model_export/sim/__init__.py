"""Building blocks of the simulator; ``model_export.simulate`` is the entry point others call."""
