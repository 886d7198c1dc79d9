"""Application layer: subscription manager, sequence tracker, order books, pipeline, health; and the ports it needs."""
