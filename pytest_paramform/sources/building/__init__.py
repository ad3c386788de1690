"""Build a model without its weights, in its own wing because it is the one part that
patches torch and other libraries while a user's code runs.

``ladder`` calls a factory in up to three steps; ``empty`` is the block the first two run
in (parameters on ``meta``, initialisers skipped); ``constructors`` makes big fresh tensors
on ``meta``; ``meta_mode`` watches every torch call of the second step, one rule of it per
function in ``policies``; ``budget`` bounds the third, real-memory step; ``hub_guard``
refuses downloads and the network; ``stand_ins`` puts every patched name back afterwards.
"""
