"""Build a model without its weights: the ladder, the meta modes, the stand-ins, the hub refusal."""
