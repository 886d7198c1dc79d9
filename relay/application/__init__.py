"""Application layer: subscriptions, sequences, order books, pipeline, health; its ports."""
