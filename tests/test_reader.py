import pytest

from rag.annotation import EntityTagger
from rag.documents import Document
from rag.reader import AnswerType, HeuristicReader, SentenceInput, _closeness, answer_type, is_list_question


@pytest.mark.parametrize("question, kind", [
    ("Who co-chaired the 18th Strategic Dialogue?", AnswerType.PERSON),
    ("Which Japanese prime minister visited India in August 2000 when the partnership began?", AnswerType.PERSON),
    ("When did CEPA come into force?", AnswerType.DATE),
    ("In which year were exports to begin?", AnswerType.DATE),
    ("What were the dates of Motegi's visit?", AnswerType.DATE),
    ("Where was the 12th Annual Summit held?", AnswerType.PLACE),
    ("Which city did the leaders travel to?", AnswerType.PLACE),
    ("How much did Japan pledge?", AnswerType.MONEY),
    ("How large was the first Japanese yen loan?", AnswerType.MONEY),
    ("What interest rate does the loan carry?", AnswerType.PERCENT),
    ("How many stations will the line have?", AnswerType.COUNT),
    ("How long is the high-speed rail line?", AnswerType.QUANTITY),
    ("Which Japanese rail operator trains the drivers?", AnswerType.ORGANIZATION),
    ("Which prime ministers hosted the summits?", AnswerType.PERSON),
    ("How old was Abe when he first took office?", AnswerType.QUANTITY),
    ("What is the Joint Crediting Mechanism?", AnswerType.DEFINITION),
    ("Why was the 2019 summit called off?", AnswerType.REASON),
    ("Which lunar mission did ISRO and JAXA sign an arrangement on?", AnswerType.NAMED),
    ("What ship carried the Japanese delegation?", AnswerType.THING),
    ("What did Jaishankar say about the partnership?", AnswerType.DESCRIPTION),
    ("What was the final score of the match?", AnswerType.THING),
    ("What is Tokyo's symbol?", AnswerType.THING),
    ("What is the MAHSR?", AnswerType.DEFINITION),
    ("what is the act east forum?", AnswerType.DEFINITION),
    ("What was the number of solo tackles he made?", AnswerType.COUNT),
    ("What was the estimated cost of the bullet train project?", AnswerType.MONEY),
    ("What is the planned operating speed of the line?", AnswerType.QUANTITY),
    ("Tell me about the partnership", AnswerType.DESCRIPTION),
    ("What is the name of the rare-earth subsidiary?", AnswerType.NAMED),
    ("What is Toyota Tsusho's subsidiary called, and when was it founded?", AnswerType.NAMED),
    ("Because of the theme, what was the game known as?", AnswerType.NAMED),
    ("What was the Friendship Year 2007 commemorating?", AnswerType.DESCRIPTION),
    ("What did the two leaders recommit to when they met in South Africa?", AnswerType.DESCRIPTION),
    ("What does \"ecological legacies\" mean in the Joint Vision?", AnswerType.DEFINITION),
    ("What is a building?", AnswerType.DEFINITION),
    # A common noun asked about at length is a thing too, unless it asks for wording.
    ("What was the last game that Elway played as a quarterback for Denver?", AnswerType.THING),
    ("What was Manning's passer rating for the 2015 season?", AnswerType.THING),
    ("What is the term given to algorithms that use random bits?", AnswerType.DESCRIPTION),
    ("What post did S. Jaishankar hold at the first Act East Forum?", AnswerType.ROLE),
    ("What position does Von Miller play?", AnswerType.ROLE),
])
def test_answer_type(question, kind):
    assert answer_type(question) is kind


@pytest.mark.parametrize("question, expected", [
    ("Which countries make up the Quad?", True),
    ("Who were Toyota Tsusho's partners?", True),
    ("What topics did the talks cover?", True),
    ("Which city hosted the summit?", False),
    ("What does SCRI stand for?", False),
    ("Which year was it?", False),
    ("What coach left the Broncos?", False),  # the asked phrase ends at the article
])
def test_list_questions(question, expected):
    assert is_list_question(question) is expected


@pytest.fixture(scope="module")
def read():
    tagger = EntityTagger()
    reader = HeuristicReader()

    def _read(question: str, sentence: str, offset: int = 100) -> str | None:
        # The sentence sits at an offset inside a document, as it does in the index.
        document = Document("d", "t", " " * offset + sentence)
        entities = tuple(e for e in tagger.run_many([document])[0])
        span = reader.run(question, [SentenceInput("d", offset, sentence, entities)])[0]
        if span is None:
            return None
        assert document.text[span.start:span.end] == span.text, "offsets point at the span in the document"
        return span.text

    return _read


@pytest.mark.parametrize("question, sentence, answer", [
    ("Who co-chaired the dialogue with Jaishankar?",
     "External Affairs Minister S. Jaishankar and Foreign Minister Toshimitsu Motegi co-chaired the dialogue.",
     "Toshimitsu Motegi"),
    ("When did the first Delhi Metro line open?", "The first Delhi Metro line opened on 24 December 2002.",
     "24 December 2002"),
    ("How much investment did Japan target over ten years?",
     "Japan set a target of 10 trillion yen of private investment in India over the next ten years.",
     "10 trillion yen"),
    ("What interest rate does the bullet train loan carry?",
     "The Japanese loan for the bullet train carries an interest rate of 0.1 percent over 50 years.", "0.1 percent"),
    ("How many stations will the bullet train line have?", "The bullet train line will have 12 stations in all.",
     "12"),
    ("Which countries make up the Quad?", "The Quad is a grouping of four countries: Australia, India, Japan and "
     "the United States.", "Australia, India, Japan and the United States"),
    ("What is a bilateral currency swap arrangement?", "A bilateral currency swap arrangement is a standing "
     "agreement under which the two sides can exchange their currencies, giving each a back-up source of dollars.",
     "a standing agreement under which the two sides can exchange their currencies"),
    ("What does SCRI stand for?", "In 2021 the three countries launched the Supply Chain Resilience Initiative (SCRI).",
     "Supply Chain Resilience Initiative"),
    # A count is the number followed by the counted noun, not the nearest number.
    ("How many tackles did the captain make in the final?",
     "In the final the captain recorded 3 sacks, five solo tackles and two interceptions.", "five"),
    # The asked noun inside a name marks its kind rather than repeating the question.
    ("Which summit did Modi attend in Osaka?", "In Osaka, Modi attended the G20 Osaka Summit with Shinzo Abe.",
     "G20 Osaka Summit"),
    # A date answer names a year, month or day; spaCy's DATE "about five years" does not say when.
    ("When did the exercise series resume after the gap?",
     "After a gap of about five years the exercise series resumed, in October 2018.", "October 2018"),
    # Question words in another clause are further from a span than their word count says.
    ("When did India declare national mourning?", "Abe was shot in Nara on 8 July 2022, and India declared "
     "national mourning on the following day, 9 July 2022.", "9 July 2022"),
    # "On what date" asks for a day, not a bare year or month.
    ("On what date was the summit held by telephone?", "The summit was held by telephone in 2020, with officials "
     "meeting later on 10 September.", "10 September"),
    # "How much of" asks for a share, or failing one, a measure; an amount keeps the word that says it is rough.
    ("How much of the tunnel runs under the sea?", "The route includes a 21-km tunnel, of which about 7 km runs "
     "under the sea.", "about 7 km"),
    # A nationality right before a word of the question qualifies that word; it is not the answer.
    ("What was the name of the elephant Nehru gave to the zoo?",
     "In 1949 Nehru gave an Indian elephant named Indira to the zoo.", "Indira"),
    # "What/which + noun" takes a name before a number or a date, unless the noun is a measure.
    ("Which television network aired the game?", "In 2016 the game was aired by CBS to 50 countries.", "CBS"),
    ("What final score ended the game?", "The Denver Broncos beat the Carolina Panthers with a final score of 24-10.",
     "24-10"),
    # A name whose short form the question says is the question's own: "the NFC" is the National Football Conference.
    ("Which force did the Indian Air Force train with?", "The IAF trained with the JASDF.", "JASDF"),
    ("What team was the NFC champion?", "The National Football Conference (NFC) champion Carolina Panthers "
     "played in Santa Clara.", "Carolina Panthers"),
    # A person titled with the nationality the question asks about: "for India" -> the Indian ambassador.
    ("Who signed the agreement for India?", "In Tokyo, Indian Ambassador Sibi George and ATLA Commissioner "
     "Ishikawa Takeshi signed the agreement.", "Sibi George"),
    ("Which Indian minister attended the meeting?", "The ministers at the meeting were Marco Rubio of the United "
     "States and S. Jaishankar of India.", "S. Jaishankar"),
    # ... but a country asked for is not told by the nationality of a company beside it.
    ("Which country did Japan want to depend on less?", "Shin-Etsu Chemical of Japan joined the plant to cut reliance "
     "on China.", "China"),
    # "How long" asks for a stretch of time, not a date or year in the sentence.
    ("How long is the memorandum valid?", "The memorandum, signed on 20 July 2023, is valid for five years.",
     "five years"),
    ("How long was the theatre open?", "The theatre, built in 1869, was open from 1870 to 1939.", "1870 to 1939"),
    ("Over what period is the goal to be reached?", "The goal, set in March 2022, is to be reached in ten years.",
     "ten years"),
    # A nationality answers "what + noun" with the noun it qualifies, and alone only when nationality is asked.
    ("What animal did Nehru send to the zoo?", "In 1949 Nehru sent an Indian elephant to the zoo.", "Indian elephant"),
    ("What nationality was the band?", "The band was a British rock group.", "British"),
    ("Which anniversary falls in 2027?", "The year 2027 marks the 75th anniversary of relations.", "75th anniversary"),
    # A list starts after the verb leading into it, even when a clause with commas comes before.
    ("What subjects did the talks cover?", "According to the spokesperson, Randhir Jaiswal, the talks covered "
     "supply-chain resilience, investment, trade and cultural ties.",
     "supply-chain resilience, investment, trade and cultural ties"),
    # Items with commas of their own are parted by semicolons.
    ("What are the pillars of the initiative?", "The initiative's pillars are maritime security; disaster risk "
     "reduction; science, technology and academic cooperation; and trade, connectivity and transport.",
     "maritime security; disaster risk reduction; science, technology and academic cooperation; and trade, "
     "connectivity and transport"),
    # A colon opens a list; a copula leads into one as a verb does.
    ("Which fields does the memorandum cover?", "The memorandum covers four fields of chip cooperation: research "
     "and development, manufacturing, design, and talent.", "research and development, manufacturing, design, and talent"),
    ("Which foreign ministers attended the meeting?", "The foreign ministers at the Washington meeting were Marco "
     "Rubio of the United States, S. Jaishankar of India and Penny Wong of Australia.",
     "Marco Rubio of the United States, S. Jaishankar of India and Penny Wong of Australia"),
    # A title spaCy tags as an organization is no person, even though it says the asked noun.
    ("Which minister signed the memorandum?", "The memorandum was signed by Ashwini Vaishnaw, India's Minister "
     "of Electronics and Information Technology.", "Ashwini Vaishnaw"),
    # A person the question names by surname is not the answer; a numeral is no surname.
    ("Which Abe speech did Kishida connect his plan to?", "Kishida tied the new plan to Shinzo Abe's \"Confluence "
     "of the Two Seas\" speech, which Abe had delivered to the Indian Parliament in August 2007.",
     "Confluence of the Two Seas"),
    ("Who killed Harold II?", "Harold II was killed by Duke William II at Hastings.", "Duke William II"),
    # A quoted phrase is a name too ("What kind of ...?", "What was X called?").
    ("What kind of weapon did Tesla talk about?", "In 1934 Tesla described a \"teleforce\" weapon to reporters "
     "in New York.", "teleforce"),
    # "What + noun" takes a typed span of any kind before falling back to a clause.
    ("What ship carried the Japanese delegation?",
     "The Japanese delegation sailed on the Japanese training ship Kashima.", "Kashima"),
    # A count may answer the second ask: the number followed by what that ask counts wins.
    ("How many Indians visited Japan in 2016, and how many people are expected to move under the 2025 plan?",
     "Under the 2025 plan, more than 500,000 people are expected to move between India and Japan in five years, "
     "including 50,000 skilled Indian professionals.", "more than 500,000"),
    # "What post / position ...?" asks for the title before the name of the person the question names.
    ("What post did S. Jaishankar hold at the first Act East Forum?", "The first Act East Forum meeting was "
     "co-chaired by Foreign Secretary S. Jaishankar and Japan's Ambassador to India, Kenji Hiramatsu.",
     "Foreign Secretary"),
    ("What position does Von Miller play?", "The Broncos defense was led by linebacker Von Miller, who was named "
     "MVP.", "linebacker"),
    # Two spans may both score past the cap on a span's score; the better one still wins.
    ("What share of India's imports came from Japan in FY2021-22?",
     "In FY2021-22 Japan supplied 2.35 percent of India's total imports and took 1.46 percent of India's total "
     "exports.", "2.35 percent"),
])
def test_heuristic_reader_cuts_the_exact_span(read, question, sentence, answer):
    assert read(question, sentence) == answer


def test_a_list_of_other_things_does_not_answer_who(read):
    # "Which ministers" asks for people: the person, not the list of topics in the same sentence.
    assert read("Which ministers signed the agreement?",
                "The agreement on trade and investment was signed by Piyush Goyal.") == "Piyush Goyal"


def test_a_list_of_the_asked_kind_outscores_a_single_name():
    tagger = EntityTagger()
    question = "Which foreign ministers attended the meeting?"
    sentences = ["Jaishankar attended the meeting in Washington.",
                 "The ministers were Marco Rubio of the United States, S. Jaishankar of India and Penny Wong."]
    documents = [Document(str(i), "t", text) for i, text in enumerate(sentences)]
    inputs = [SentenceInput(d.doc_id, 0, d.text, tuple(entities))
              for d, entities in zip(documents, tagger.run_many(documents))]
    single, listed = HeuristicReader().run(question, inputs)
    assert single.text == "Jaishankar"
    assert listed.text == "Marco Rubio of the United States, S. Jaishankar of India and Penny Wong"
    assert listed.score > single.score


def test_a_list_outscores_a_name_when_the_question_asks_for_things():
    # "What areas ...?" asks for a list of anything: the list beats the name in the sentence beside it.
    tagger = EntityTagger()
    sentences = ["The AI initiative, known as JAI, was launched in Tokyo.",
                 "The AI initiative covers joint research, exchanges of students and data centres."]
    documents = [Document(str(i), "t", text) for i, text in enumerate(sentences)]
    inputs = [SentenceInput(d.doc_id, 0, d.text, tuple(entities))
              for d, entities in zip(documents, tagger.run_many(documents))]
    named, listed = HeuristicReader().run("What areas does the AI initiative cover?", inputs)
    assert (named.text, listed.text) == ("JAI", "joint research, exchanges of students and data centres")
    assert listed.score > named.score


def test_a_list_of_the_length_asked_for_outscores_another():
    question = "What are the three pillars of the plan?"
    sentences = ["The plan was drafted by officials and ministers.", "Its pillars are trade, security and culture."]
    inputs = [SentenceInput(str(i), 0, text) for i, text in enumerate(sentences)]
    drafted, pillars = HeuristicReader().run(question, inputs)
    assert (drafted.text, pillars.text) == ("drafted by officials and ministers", "trade, security and culture")
    assert pillars.score > drafted.score


def test_a_reason_keeps_its_causal_word(read):
    assert read("Why did the leaders meet in Hiroshima?", "The leaders met in Hiroshima after the summit was moved "
                "from Sydney.") == "after the summit was moved from Sydney"


def test_a_definition_ends_before_a_participle_clause(read):
    assert read("What is the State-Prefecture Partnership Initiative?",
                "The State-Prefecture Partnership Initiative is a set of direct links between Indian states and "
                "Japanese prefectures, promoted through a State-Prefecture Partnership Initiative.") == (
        "a set of direct links between Indian states and Japanese prefectures")


def test_a_definition_by_noun_phrase_outscores_a_purpose():
    question = "What is the Working Group on Minerals?"
    sentences = ["The Working Group on Minerals is to deal with rare earths.",
                 "The Working Group on Minerals is a bilateral group of officials."]
    inputs = [SentenceInput(str(i), 0, text) for i, text in enumerate(sentences)]
    purpose, definition = HeuristicReader().run(question, inputs)
    assert (purpose.text, definition.text) == ("to deal with rare earths", "a bilateral group of officials")
    assert definition.score > purpose.score


def test_a_name_the_question_already_says_is_not_the_answer(read):
    sentence = "Narendra Modi met Shigeru Ishiba in Tokyo."
    assert read("Who did Narendra Modi meet in Tokyo?", sentence) == "Shigeru Ishiba"


def test_no_typed_span_means_no_cut(read):
    assert read("When was the treaty signed?", "The treaty was signed by both governments.") is None


def test_closeness_counts_every_question_word_near_a_span():
    # Question words (stems "a", "b", "c") at positions 0, 1 and 9; spans at 3 and at 7 are each 2 from the
    # nearest one, but the first has two question words that close.
    stems = ["a", "b", "x", "x", "x", "x", "x", "x", "x", "c"]
    anchors = [0, 1, 9]
    assert _closeness(stems, anchors, [3], 10, [0] * 10) > _closeness(stems, anchors, [7], 10, [0] * 10)
