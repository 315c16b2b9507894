"""NLU helpers. ``use_featurizer`` is a Rasa component and runs in the Rasa environment."""
