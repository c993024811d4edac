"""`ChatRequest(mix=...)`: a fixed mix replaces the gate on the fine-tuned side (the chat pane's "static mix",
what an export freezes): the weights come back as given, a one-hot mix answers exactly as that adapter alone,
and a mix with an adapter, or naming an unknown adapter, is a typed error."""

from __future__ import annotations

import pytest

from dlm_desktop.core.inference import ChatRequest, ChatRequestError, InferenceSession, ScoringInputError, prompt_document
from tests.core.inference.test_inference_chat import QUESTION, drain, trained_doc  # noqa: F401  (fixture)


def test_a_fixed_mix_replaces_the_gate(trained_doc):  # noqa: F811
    path, _ = trained_doc
    session = InferenceSession()
    try:
        _, mixed = drain(prompt_document(ChatRequest(path, QUESTION, mix={"alpha": 0.25, "beta": 0.75},
                                                     temperature=0.0, max_tokens=6), session=session))
        assert mixed.routed.gate_mode == "static" and mixed.routed.adapter is None
        assert mixed.routed.weights == pytest.approx({"alpha": 0.25, "beta": 0.75})
        assert mixed.as_json_dict()["finetuned"]["gate"] == pytest.approx({"alpha": 0.25, "beta": 0.75})
        _, one_hot = drain(prompt_document(ChatRequest(path, QUESTION, mix={"alpha": 1.0}, temperature=0.0,
                                                       max_tokens=6), session=session))
        _, alone = drain(prompt_document(ChatRequest(path, QUESTION, adapter="alpha", temperature=0.0,
                                                     max_tokens=6), session=session))
        assert one_hot.routed.weights == {"alpha": 1.0, "beta": 0.0}
        assert one_hot.finetuned.token_ids == alone.finetuned.token_ids
    finally:
        session.close()


def test_a_fixed_mix_is_checked(trained_doc):  # noqa: F811
    path, _ = trained_doc
    with pytest.raises(ChatRequestError, match="either one adapter or a fixed mix"):
        ChatRequest(path, QUESTION, adapter="alpha", mix={"alpha": 1.0})
    with pytest.raises(ScoringInputError, match="gamma"):
        drain(prompt_document(ChatRequest(path, QUESTION, mix={"gamma": 1.0}, max_tokens=2)))
