"""Logprobs through the official openai client against the real citadel
binary and the tiny llm-gptq test models: chat logprobs/top_logprobs, legacy
completions with echo + logprobs (+ max_tokens 0, as lm-evaluation-harness's
local-completions model scores a context), streaming, and the numbers checked
against transformers' log-softmax (tests/data/logprobs, made by
tools/dump_logprob_reference.py).
"""
import math

import pytest

MODEL = "llama-fp16"
# Float32 everywhere on both sides (f32 KV cache); the forward passes differ
# in summation order only.
TOLERANCE = 2e-3


def greedy_chat(client, **extra):
    return client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Write a haiku about the sea."}],
        max_tokens=12, temperature=0, **extra)


def test_chat_logprobs_with_top_logprobs(client):
    reply = greedy_chat(client, logprobs=True, top_logprobs=3)
    choice = reply.choices[0]
    content = choice.logprobs.content
    assert len(content) == reply.usage.completion_tokens
    for entry in content:
        assert entry.logprob <= 0.0
        assert len(entry.top_logprobs) == 3
        tops = [candidate.logprob for candidate in entry.top_logprobs]
        assert tops == sorted(tops, reverse=True)
        assert sum(math.exp(value) for value in tops) <= 1.0 + 1e-5
        # Greedy: the chosen token is the most likely one.
        assert entry.token == entry.top_logprobs[0].token
        assert entry.logprob == pytest.approx(entry.top_logprobs[0].logprob, abs=1e-6)
        assert bytes(entry.bytes).decode("utf-8", errors="replace") == entry.token
    # The tokens' bytes spell the answer, up to the first byte that is not
    # UTF-8 (the answer has U+FFFD there; a random model emits such bytes).
    spelled = b"".join(bytes(entry.bytes) for entry in content)
    try:
        valid = spelled.decode()
    except UnicodeDecodeError as error:
        valid = spelled[:error.start].decode()
    assert len(valid) > 0
    answer = choice.message.content
    assert answer.startswith(valid) or valid.startswith(answer)


def test_chat_without_logprobs_has_none(client):
    reply = greedy_chat(client)
    assert reply.choices[0].logprobs is None


def test_chat_top_logprobs_limits(client):
    import openai
    with pytest.raises(openai.BadRequestError) as error:
        greedy_chat(client, logprobs=True, top_logprobs=21)
    assert "top_logprobs" in str(error.value)
    with pytest.raises(openai.BadRequestError):
        greedy_chat(client, top_logprobs=2)  # without logprobs


@pytest.mark.parametrize("case_index", range(4))
def test_echo_scores_the_prompt_as_transformers_does(client, logprob_reference, case_index):
    case = logprob_reference["cases"][case_index]
    reply = client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=0, echo=True,
                                      logprobs=5, temperature=0)
    choice = reply.choices[0]
    assert choice.text == case["prompt"]
    assert choice.finish_reason == "length"
    assert reply.usage.completion_tokens == 0
    assert reply.usage.prompt_tokens == len(case["token_ids"])
    lp = choice.logprobs
    assert len(lp.tokens) == len(case["token_ids"])
    assert len(lp.token_logprobs) == len(lp.tokens) == len(lp.top_logprobs) == len(lp.text_offset)
    assert lp.token_logprobs[0] is None
    assert lp.top_logprobs[0] is None
    for got, expected in zip(lp.token_logprobs[1:], case["token_logprobs"][1:]):
        assert got == pytest.approx(expected, abs=TOLERANCE)
    assert sum(lp.token_logprobs[1:]) == pytest.approx(case["sum_logprob"], abs=TOLERANCE * len(lp.tokens))
    for top, token_logprob in zip(lp.top_logprobs[1:], lp.token_logprobs[1:]):
        assert 1 <= len(top) <= 5
        assert max(top.values()) >= token_logprob - 1e-6
    assert lp.text_offset == sorted(lp.text_offset)


def test_echo_with_one_token_is_what_lm_eval_reads(client, logprob_reference):
    """lm-evaluation-harness local-completions: echo, logprobs=1, max_tokens=1;
    it sums token_logprobs[ctxlen:-1] and checks top_logprobs for greediness."""
    case = logprob_reference["cases"][1]
    reply = client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=1, echo=True,
                                      logprobs=1, temperature=0, seed=1234)
    lp = reply.choices[0].logprobs
    count = len(case["token_ids"])
    assert len(lp.tokens) == count + 1
    context = 3
    continuation = lp.token_logprobs[context:-1]
    assert sum(continuation) == pytest.approx(sum(case["token_logprobs"][context:]), abs=TOLERANCE * count)
    # The generated token is the greedy one, with the reference's logprob.
    assert lp.token_logprobs[-1] == pytest.approx(case["greedy_next_logprob"], abs=TOLERANCE)
    assert max(lp.top_logprobs[-1].values()) == pytest.approx(lp.token_logprobs[-1], abs=1e-6)
    # is_greedy as lm-eval computes it, against the reference's top-1 ids.
    greedy = [case["top_ids_after"][i - 1][0] == case["token_ids"][i] for i in range(context, count)]
    assert greedy == [max(top, key=top.get) == token
                      for top, token in zip(lp.top_logprobs[context:-1], lp.tokens[context:-1])]


def test_max_tokens_zero_needs_echo(client):
    import openai
    with pytest.raises(openai.BadRequestError) as error:
        client.completions.create(model=MODEL, prompt="hello", max_tokens=0)
    assert "max_tokens" in str(error.value)
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=MODEL, prompt="hello", max_tokens=1, logprobs=6)


def test_completion_logprobs_without_echo_cover_the_generated_tokens(client):
    reply = client.completions.create(model=MODEL, prompt="The quick brown fox", max_tokens=6,
                                      logprobs=2, temperature=0)
    lp = reply.choices[0].logprobs
    assert len(lp.tokens) == reply.usage.completion_tokens
    assert all(value is not None and value <= 0 for value in lp.token_logprobs)
    assert lp.text_offset[0] == 0


def test_streamed_chat_logprobs_match_the_whole_reply(client):
    whole = greedy_chat(client, logprobs=True, top_logprobs=2)
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Write a haiku about the sea."}],
        max_tokens=12, temperature=0, logprobs=True, top_logprobs=2, stream=True,
        stream_options={"include_usage": True})
    entries, text, usage = [], "", None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            if choice.logprobs is not None and choice.logprobs.content:
                entries.extend(choice.logprobs.content)
    assert usage is not None and len(entries) == usage.completion_tokens
    assert text == whole.choices[0].message.content
    assert [entry.token for entry in entries] == [entry.token for entry in whole.choices[0].logprobs.content]
    for streamed, complete in zip(entries, whole.choices[0].logprobs.content):
        assert streamed.logprob == pytest.approx(complete.logprob, abs=1e-5)


def test_streamed_echo_logprobs_match_the_whole_reply(client, logprob_reference):
    case = logprob_reference["cases"][0]
    stream = client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=3, echo=True,
                                       logprobs=1, temperature=0, stream=True)
    tokens, token_logprobs, offsets = [], [], []
    for chunk in stream:
        for choice in chunk.choices:
            if choice.logprobs is not None:
                tokens += choice.logprobs.tokens
                token_logprobs += choice.logprobs.token_logprobs
                offsets += choice.logprobs.text_offset
    whole = client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=3, echo=True,
                                      logprobs=1, temperature=0).choices[0].logprobs
    assert tokens == whole.tokens
    assert offsets == whole.text_offset
    assert token_logprobs[0] is None
    assert token_logprobs[1:] == pytest.approx(whole.token_logprobs[1:], abs=1e-5)


def test_token_id_prompts_in_a_batch_as_lm_eval_sends_them(client, logprob_reference):
    """local-completions with tokenized_requests (its default): a batch of
    token-id prompts, echo, logprobs=1, max_tokens=1."""
    cases = logprob_reference["cases"][:2]
    reply = client.completions.create(model=MODEL, prompt=[case["token_ids"] for case in cases], max_tokens=1,
                                      echo=True, logprobs=1, temperature=0)
    assert len(reply.choices) == 2
    for choice, case in zip(sorted(reply.choices, key=lambda c: c.index), cases):
        lp = choice.logprobs
        assert len(lp.tokens) == len(case["token_ids"]) + 1
        assert sum(lp.token_logprobs[1:-1]) == pytest.approx(case["sum_logprob"],
                                                             abs=TOLERANCE * len(lp.tokens))
        # The echoed text is the prompt's detokenization (the BOS spelled out
        # before it), then the generated token.
        assert choice.text.startswith(lp.tokens[0] + case["prompt"])


def test_scoring_a_cached_prompt_computes_every_position_again(client, logprob_reference):
    case = max(logprob_reference["cases"], key=lambda c: len(c["token_ids"]))  # full cache blocks
    plain = client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=2, temperature=0)
    again = client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=2, temperature=0)
    assert again.usage.prompt_tokens_details is not None and again.usage.prompt_tokens_details.cached_tokens > 0
    scored = client.completions.create(model=MODEL, prompt=case["prompt"], max_tokens=0, echo=True,
                                       logprobs=0, temperature=0)
    assert scored.usage.prompt_tokens_details is None  # nothing taken from the cache
    assert len(scored.choices[0].logprobs.token_logprobs) == len(case["token_ids"])
    assert sum(scored.choices[0].logprobs.token_logprobs[1:]) == pytest.approx(
        case["sum_logprob"], abs=TOLERANCE * len(case["token_ids"]))
    assert plain.choices[0].text == again.choices[0].text
