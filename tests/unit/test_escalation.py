import pytest

from bot.services.escalation import Decision, Policy, TurnSignal, decide


def neg(text: str, score: float = 0.8) -> TurnSignal:
    return TurnSignal(text, "complaint", "negative", score)


def calm(text: str, intent: str = "order_status") -> TurnSignal:
    return TurnSignal(text, intent, "neutral", 0.9)


@pytest.mark.parametrize("text", [
    "转人工", "我要人工客服", "can I talk to a real person", "agent", "Agent!!",
    "please connect me with a human", "叫你们经理出来", "speak to someone please"])
def test_explicit_requests_escalate(text: str) -> None:
    assert decide([calm("hi"), calm(text, "greet")]).reason == "explicit_request"


@pytest.mark.parametrize("text", [
    "is this shampoo safe for humans?", "人工香精对人体有害吗", "my agent at the bank said so",
    "I don't need a human, just tell me the fee"])
def test_human_in_another_sense_does_not(text: str) -> None:
    assert decide([calm(text, "product_question")]) == Decision(False, None, 0.0)


def test_strongly_negative_turn_escalates_mild_one_does_not() -> None:
    assert decide([neg("this is a scam, I want my money NOW", 0.97)]).reason == \
        "negative_sentiment"
    assert not decide([neg("bit annoying that it's late", 0.6)]).escalate


def test_negative_trend_escalates() -> None:
    turns = [neg("still not here", 0.6), calm("order 104233"), neg("this is getting silly", 0.7)]
    assert decide(turns).reason == "negative_trend"


def test_repeated_unanswered_turns_escalate() -> None:
    turns = [calm("hello", "greet"), TurnSignal("blorp", "nlu_fallback", "neutral", 0.9),
             TurnSignal("you don't get it", "out_of_scope", "neutral", 0.8, answered=False)]
    assert decide(turns).reason == "repeated_fallback"


def test_vip_with_a_problem_escalates_and_tier_raises_priority() -> None:
    turn = [neg("the blender arrived cracked", 0.6)]
    assert decide(turn, "platinum").reason == "vip"
    assert not decide(turn, "standard").escalate
    assert decide([calm("转人工")], "platinum").priority > decide([calm("转人工")]).priority


def test_policy_is_configurable() -> None:
    strict = Policy(strong_negative=0.5)
    assert decide([neg("meh", 0.6)], policy=strict).reason == "negative_sentiment"


@pytest.mark.parametrize("text", ["不用转人工，告诉我退货地址就行", "I don't need a human, thanks",
                                  "no need for a real person, just the fee"])
def test_declining_a_person_is_not_a_request(text: str) -> None:
    assert not decide([calm(text, "request_human")]).escalate


def test_valuable_segments_wait_less() -> None:
    request = [calm("I want to talk to a person", "request_human")]
    assert decide(request, segment="Champions").priority > decide(request).priority
    assert decide(request, segment="Hibernating").priority == decide(request).priority
    assert not decide([calm("hello")], segment="Champions").escalate


def test_a_vip_reporting_a_problem_calmly_gets_a_person() -> None:
    report = [calm("two of the six chairs arrived with cracked legs", "return_item")]
    assert decide(report, "platinum").reason == "vip"
    assert not decide(report, "standard").escalate
    assert not decide([calm("what colours does the sofa come in", "product_question")],
                      "platinum").escalate
