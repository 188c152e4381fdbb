"""/tokenize and /detokenize (vLLM's shapes) against the real citadel binary:
ids as HF `tokenizers` gives them (tests/data/logprobs), the round trip, chat
messages counted as the chat endpoint counts them, and errors."""
import pytest

MODEL = "llama-fp16"


@pytest.mark.parametrize("case_index", range(4))
def test_tokenize_matches_the_reference_and_round_trips(citadel, logprob_reference, case_index):
    case = logprob_reference["cases"][case_index]
    status, body = citadel.post("/tokenize", {"model": MODEL, "prompt": case["prompt"]})
    assert status == 200, body
    assert body["tokens"] == case["token_ids"]
    assert body["count"] == len(case["token_ids"])
    assert body["max_model_len"] == 4096
    # The first id is the BOS the tokenizer adds; the rest spell the prompt.
    status, body = citadel.post("/detokenize", {"model": MODEL, "tokens": case["token_ids"][1:]})
    assert status == 200, body
    assert body["prompt"] == case["prompt"]


def test_tokenized_messages_count_as_the_chat_prompt(citadel, client):
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    status, body = citadel.post("/tokenize", {"model": MODEL, "messages": messages})
    assert status == 200, body
    reply = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=1)
    assert body["count"] == reply.usage.prompt_tokens


def test_tokenizer_errors_name_the_problem(citadel):
    status, body = citadel.post("/tokenize", {"model": "no-such-model", "prompt": "x"})
    assert status == 404
    status, body = citadel.post("/tokenize", {"model": MODEL})
    assert status == 400 and body["error"]["param"] == "prompt"
    status, body = citadel.post("/detokenize", {"model": MODEL, "tokens": [1, 999999]})
    assert status == 400 and "tokens[1]" in body["error"]["message"]
    status, body = citadel.post("/detokenize", {"model": MODEL, "tokens": "abc"})
    assert status == 400 and body["error"]["param"] == "tokens"
