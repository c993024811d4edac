"""Training: the training loop as an event generator, checkpoints and exact resume, multi-adapter, the gate."""
