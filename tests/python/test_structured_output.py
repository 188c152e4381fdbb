"""Structured output and tools through the official openai client against the
real citadel binary with tiny random-weight llm-gptq models: their free text
is gibberish, so every constrained answer must still parse and validate
(checked with the jsonschema package), and forced tool calls must come back
as OpenAI tool_calls whose arguments follow the function's parameters."""
import json
from typing import Annotated

import jsonschema
import openai
import pydantic
import pytest
from conftest import TEST_MODELS

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 24},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "temperature": {"type": "number", "minimum": -50, "maximum": 50},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                      "parameters": WEATHER}},
    {"type": "function", "function": {"name": "search", "description": "Web search",
                                      "parameters": {"type": "object",
                                                     "properties": {"query": {"type": "string", "maxLength": 40},
                                                                    "limit": {"type": "integer", "minimum": 1}},
                                                     "required": ["query"]}}},
]
PARAMETERS = {tool["function"]["name"]: tool["function"]["parameters"] for tool in TOOLS}


@pytest.fixture(scope="module")
def host(start_citadel):
    # tools: on — the test models' chat templates mention no tools; "plain" keeps the default.
    return start_citadel({
        "chatml": (TEST_MODELS / "qwen2-gptq", {"tools": "on", "threads": 2}),
        "llama": (TEST_MODELS / "llama3-gptq", {"tools": "on", "threads": 2}),
        "plain": (TEST_MODELS / "qwen2-gptq", {"threads": 2}),
    })


@pytest.fixture(scope="module")
def api(host):
    return host.client()


@pytest.mark.parametrize("model", ["chatml", "llama"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_json_schema_answers_validate(api, model, seed):
    reply = api.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Weather in Paris?"}], max_tokens=300,
        temperature=0 if seed == 0 else 1, seed=seed,
        response_format={"type": "json_schema", "json_schema": {"name": "weather", "schema": WEATHER, "strict": True}})
    choice = reply.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    jsonschema.validate(json.loads(choice.message.content), WEATHER)


class Address(pydantic.BaseModel):
    street: str = pydantic.Field(max_length=30)
    zip: str | None = pydantic.Field(max_length=8)


class Person(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=20)
    age: int = pydantic.Field(ge=0, le=130)
    tags: list[Annotated[str, pydantic.Field(max_length=12)]] = pydantic.Field(max_length=3)
    address: Address


def test_the_clients_parse_helper_gets_a_valid_pydantic_object(api):
    # The client turns the model into a strict json_schema ($defs, anyOf with null, ...).
    # Strings are bounded: a random-weight model rarely closes a free one.
    reply = api.chat.completions.parse(model="chatml", messages=[{"role": "user", "content": "A person"}],
                                       response_format=Person, max_tokens=400, temperature=0)
    choice = reply.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    assert isinstance(choice.message.parsed, Person)


def test_json_object_answers_are_objects(api):
    for seed in range(3):
        reply = api.chat.completions.create(model="chatml", messages=[{"role": "user", "content": "JSON please"}],
                                            max_tokens=300, seed=seed, response_format={"type": "json_object"})
        if reply.choices[0].finish_reason == "stop":
            assert isinstance(json.loads(reply.choices[0].message.content), dict)
        else:
            assert reply.choices[0].message.content.startswith("{")


def test_a_streamed_json_schema_answer_validates(api):
    stream = api.chat.completions.create(
        model="llama", messages=[{"role": "user", "content": "Stream"}], max_tokens=300, temperature=0, stream=True,
        response_format={"type": "json_schema", "json_schema": {"name": "weather", "schema": WEATHER}})
    text, finish = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert finish == "stop"
    jsonschema.validate(json.loads(text), WEATHER)


@pytest.mark.parametrize("model", ["chatml", "llama"])
@pytest.mark.parametrize("tool_choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_forced_tool_calls_follow_the_parameters(api, model, tool_choice):
    reply = api.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather in Oslo?"}],
                                        tools=TOOLS, tool_choice=tool_choice, max_tokens=300, temperature=0)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    for call in choice.message.tool_calls:
        assert call.id.startswith("call_") and call.type == "function"
        if isinstance(tool_choice, dict):
            assert call.function.name == "get_weather"
        jsonschema.validate(json.loads(call.function.arguments), PARAMETERS[call.function.name])


def test_streamed_tool_calls_arrive_as_deltas(api):
    stream = api.chat.completions.create(model="chatml", messages=[{"role": "user", "content": "Search"}],
                                         tools=TOOLS, tool_choice="required", parallel_tool_calls=False,
                                         max_tokens=300, temperature=0, stream=True)
    calls, finish = {}, None
    for chunk in stream:
        if not chunk.choices:
            continue
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"name": "", "arguments": ""})
            entry["name"] += delta.function.name or ""
            entry["arguments"] += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert len(calls) == 1
    jsonschema.validate(json.loads(calls[0]["arguments"]), PARAMETERS[calls[0]["name"]])


@pytest.mark.parametrize("model", ["chatml", "llama"])
def test_a_tool_result_conversation_is_accepted(api, model):
    first = api.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather in Oslo?"}],
                                        tools=TOOLS, tool_choice={"type": "function", "function": {"name": "search"}},
                                        max_tokens=200, temperature=0)
    call = first.choices[0].message.tool_calls[0]
    messages = [{"role": "user", "content": "Weather in Oslo?"},
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"result": "3 degrees"})}]
    second = api.chat.completions.create(model=model, messages=messages, tools=TOOLS, tool_choice="auto",
                                         max_tokens=8, temperature=0)
    assert second.choices[0].message.role == "assistant"
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


def test_tools_for_a_model_without_tool_calling_are_refused(api):
    with pytest.raises(openai.BadRequestError) as refused:
        api.chat.completions.create(model="plain", messages=[{"role": "user", "content": "x"}], tools=TOOLS)
    assert "model 'plain' does not support tools" in str(refused.value)
    with pytest.raises(openai.BadRequestError) as refused:
        api.chat.completions.create(
            model="chatml", messages=[{"role": "user", "content": "x"}],
            response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": {
                "type": "object", "properties": {"id": {"type": "string", "pattern": "^a"}}}}})
    assert "#/properties/id/pattern" in str(refused.value)
