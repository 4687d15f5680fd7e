"""FollowUpResolver: follow-up questions made standalone from the earlier turns, without a language model."""

from __future__ import annotations

import pytest

from rag.conversation import DANGLING, FollowUpResolver, Resolution, noun_phrases


def conversation(*user_turns: str, answer: str = "An earlier answer.") -> list[dict]:
    messages = []
    for turn in user_turns:
        messages += [{"role": "user", "content": turn}, {"role": "assistant", "content": answer}]
    return messages[:-1]


@pytest.fixture(scope="module")
def resolver() -> FollowUpResolver:
    return FollowUpResolver()


@pytest.mark.parametrize("previous, follow_up, expected", [
    # Pronouns take the previous question's focus phrase.
    ("When did the Delhi Metro open its first line?", "Who financed it?", "Who financed the Delhi Metro?"),
    ("What did Kyoto and Varanasi sign?", "And when was it signed?", "When was Kyoto and Varanasi signed?"),
    ("When did Kyoto and Varanasi sign the partner-city agreement?", "And when was it signed?",
     "When was the partner-city agreement signed (Kyoto and Varanasi)?"),
    ("How long is the Mumbai-Ahmedabad High-Speed Rail line?", "When will it open?",
     "When will the Mumbai-Ahmedabad High-Speed Rail line open?"),
    ("What is the Quad?", "Who are its members?", "Who are the Quad's members?"),
    ("When was the 2008 Joint Declaration on Security Cooperation signed?", "And when was it revised?",
     "When was the 2008 Joint Declaration on Security Cooperation revised?"),
    ("Did Japan sign a civil nuclear agreement with India?", "When did it enter into force?",
     "When did the civil nuclear agreement enter into force (Japan, India)?"),
    # he/she/his/her prefer a name without an article.
    ("When did Shinzo Abe give the Confluence of the Two Seas speech?", "Where did he give it?",
     "Where did Shinzo Abe give it (the Confluence of the Two Seas speech)?"),
    # A topic switch replaces the focus; a year replaces the year.
    ("When did the Delhi Metro open its first line?", "What about the Western Dedicated Freight Corridor?",
     "When did the Western Dedicated Freight Corridor open its first line?"),
    ("Who financed the Delhi Metro?", "And the Mumbai-Ahmedabad bullet train?",
     "Who financed the Mumbai-Ahmedabad bullet train?"),
    ("How many Japanese companies operated in India in 2016?", "And in 2018?",
     "How many Japanese companies operated in India in 2018?"),
    ("How many Japanese companies operated in India?", "How about in 2018?",
     "How many Japanese companies operated in India in 2018?"),
    # A bare question word takes the place of the previous one.
    ("When did the Delhi Metro open its first line?", "And where?", "Where did the Delhi Metro open its first line?"),
    ("Did Japan finance the Delhi Metro?", "When?", "When did Japan finance the Delhi Metro?"),
    # ... but not the "how much" of a measure question: the phrases are carried instead.
    ("How much did the new water treatment plant cost?", "And where?", "Where (the new water treatment plant)?"),
    # Demonstratives, "there" and very short questions carry the previous phrases along.
    ("When did the freight corridor open?", "Who paid for that?", "Who paid for that (the freight corridor)?"),
    ("Who financed the Delhi Metro?", "Is there a second phase?", "Is there a second phase (the Delhi Metro)?"),
    ("Who financed the Delhi Metro?", "Who signed?", "Who signed (the Delhi Metro)?"),
])
def test_follow_ups_become_standalone(resolver, previous, follow_up, expected):
    assert resolver.run(conversation(previous, follow_up)) == expected


@pytest.mark.parametrize("previous, follow_up, expected", [
    # The subject of a do-support question runs from the auxiliary to the bare verb, hyphenated words included.
    ("When did the India-Japan civil nuclear agreement come into force?", "And when did the Diet approve it?",
     "When did the Diet approve the India-Japan civil nuclear agreement?"),
    ("When did the high-speed rail loan agreement take effect?", "And who signed it?",
     "Who signed the high-speed rail loan agreement?"),
    ("How much did the new water treatment plant cost?", "When did it open?",
     "When did the new water treatment plant open?"),
    ("When will the cross-border power line reach the coast?", "Who pays for it?",
     "Who pays for the cross-border power line?"),
    ("When did the Nobel Foundation send volunteers?", "Why did it send them?",
     "Why did the Nobel Foundation send them?"),
    ("When did the North-South ferry service first carry passengers?", "Who runs it?",
     "Who runs the North-South ferry service?"),
    ("When did Northland's new ferry terminal open?", "Who built it?", "Who built Northland's new ferry terminal?"),
    # A subject continued by "of": "the first meeting of the Joint Water Commission decide" loses "decide".
    ("What did the first meeting of the Joint Water Commission decide?", "And when did it meet again?",
     "When did the Joint Water Commission meet again?"),
    ("When was the foundation stone of the river bridge laid?", "Who designed it?", "Who designed the river bridge?"),
    # A lone phrase after "and"/"what about" is a topic switch, like a name.
    ("Why does the city council oppose the bridge?", "And the mayor?", "Why does the mayor oppose the bridge?"),
    ("Who financed the harbour tunnel?", "What about the city tramway?", "Who financed the city tramway?"),
])
def test_subjects_of_inverted_questions_are_kept_whole(resolver, previous, follow_up, expected):
    assert resolver.run(conversation(previous, follow_up)) == expected


@pytest.mark.parametrize("previous, question", [
    ("Who financed the Delhi Metro?", "What is ODA?"),
    ("Who financed the Delhi Metro?", "When did the freight corridor open?"),
    ("What is the Quad?", "Is it true that India joined the Quad in 2007?"),
    ("When did Kyoto and Varanasi sign the partner-city agreement?", "How long is the Mumbai-Ahmedabad line?"),
])
def test_standalone_questions_are_left_alone(resolver, previous, question):
    resolution = resolver.resolve(conversation(previous, question))
    assert resolution.standalone == question
    assert resolution.rule == "standalone"


def test_first_question_is_returned_as_is(resolver):
    assert resolver.run([{"role": "user", "content": "  And when was it signed?  "}]) == "And when was it signed?"


def test_a_chain_of_follow_ups_keeps_its_topic(resolver):
    messages = conversation("How long is the Mumbai-Ahmedabad High-Speed Rail line?", "When will it open?",
                            "And who builds it?")
    # The subject of "When will the ... Rail line open?" runs up to the verb: the verb is never carried over.
    assert resolver.run(messages) == "Who builds the Mumbai-Ahmedabad High-Speed Rail line?"


def test_carried_context_is_not_mistaken_for_the_focus(resolver):
    messages = conversation("When did Kyoto and Varanasi sign the partner-city agreement?", "And when was it signed?",
                            "Who proposed it?")
    assert resolver.run(messages) == "Who proposed the partner-city agreement (Kyoto and Varanasi)?"


def test_the_previous_answer_supplies_phrases_when_the_question_has_none(resolver):
    messages = [{"role": "user", "content": "Which partnership was signed in August 2014?"},
                {"role": "assistant",
                 "content": "Kyoto and Varanasi signed a partner-city agreement on 30 August 2014."},
                {"role": "user", "content": "What are its main areas?"}]
    # "Which partnership ... August" has the name "August"; the answer is only used when the question has no phrase.
    assert resolver.run(messages).startswith("What are")
    messages[0]["content"] = "which one was signed?"
    assert resolver.run(messages) == "What are Kyoto and Varanasi's main areas?"


def test_accepts_objects_with_role_and_content(resolver):
    class Message:
        def __init__(self, role, content):
            self.role, self.content = role, content

    messages = [Message("user", "When did the Delhi Metro open its first line?"), Message("user", "Who financed it?")]
    assert resolver.run(messages) == "Who financed the Delhi Metro?"


def test_no_user_message_is_an_error(resolver):
    with pytest.raises(ValueError):
        resolver.run([{"role": "assistant", "content": "Hello"}])


def test_resolution_is_deterministic(resolver):
    messages = conversation("When did Kyoto and Varanasi sign the partner-city agreement?", "What are its main areas?")
    assert len({resolver.run(messages) for _ in range(5)}) == 1


@pytest.mark.parametrize("question, phrases", [
    ("When did Kyoto and Varanasi sign the partner-city agreement?",
     ["Kyoto and Varanasi", "the partner-city agreement"]),
    ("How long is the Mumbai-Ahmedabad High-Speed Rail line?", ["the Mumbai-Ahmedabad High-Speed Rail line"]),
    ("When was the agreement signed?", ["the agreement"]),
    ("When did the freight corridor open?", ["the freight corridor"]),
    ("Did Japan finance the bullet train project?", ["Japan", "the bullet train project"]),
    ("What did the Ministry of External Affairs say?", ["the Ministry of External Affairs"]),
    ("When did the India-Japan civil nuclear agreement come into force?", ["the India-Japan civil nuclear agreement"]),
    ("When did the Nobel Foundation send volunteers?", ["the Nobel Foundation"]),
    ("How many stations will the high-speed line have?", ["the high-speed line"]),
    ("Why did the two premiers ride together?", ["the two premiers"]),
    ("What will the new AI talks between the two ministries cover?", ["the new AI talks", "the two ministries"]),
    ("When is the second round of the Joint Water Commission due?",
     ["the second round", "the Joint Water Commission"]),
])
def test_noun_phrases(question, phrases):
    assert [p.text for p in noun_phrases(question)] == phrases


PREVIOUS = ["When did the India-Japan civil nuclear agreement come into force?",
            "How much did the new water treatment plant cost?", "Why does the city council oppose the bridge?",
            "When did the high-speed rail loan agreement take effect?", "When was the partner-city agreement signed?",
            "What did the first meeting of the Joint Water Commission decide?", "How long is the North-South line?"]
FOLLOW_UPS = ["And when did the Diet approve it?", "Who signed it?", "What about the mayor?", "And where?",
              "Who paid for that?", "How much did it cost?", "What are its main goals?", "Why?", "And in 2018?"]


@pytest.mark.parametrize("previous", PREVIOUS)
def test_every_rewrite_reads_as_a_question(resolver, previous):
    for follow_up in FOLLOW_UPS:
        standalone = resolver.run(conversation(previous, follow_up))
        assert not DANGLING.search(standalone), (previous, follow_up, standalone)
        assert standalone[0].isupper() and standalone.endswith("?"), standalone
        assert "  " not in standalone and " ?" not in standalone, standalone


def test_a_garbled_rewrite_falls_back_to_the_users_words(monkeypatch):
    resolver = FollowUpResolver()
    monkeypatch.setattr(resolver, "_rewrite", lambda question, previous, answer: Resolution(
        question, "When did the Diet approve the India-?", "pronoun"))
    resolution = resolver.resolve(conversation("When did the India-Japan civil nuclear agreement come into force?",
                                               "And when did the Diet approve it?"))
    assert resolution.rule == "fallback"
    assert resolution.question == "And when did the Diet approve it?"
    assert resolution.standalone == "When did the Diet approve it (the India-Japan civil nuclear agreement)?"
