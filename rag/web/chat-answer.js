/*
 * Kizuna chat, part 2 of 4: an answer card (the quote, confidence, sources, copy and feedback buttons, or the
 * closest passage of a withheld answer). Methods of the chat (chat.js mixes window.KizunaAnswerView in).
 */
(function () {
  "use strict";
  if (window.KizunaAnswerView) return;
  var D = window.KizunaDom;
  var h = D.h, append = D.append, percent = D.percent, confidenceLabel = D.confidenceLabel, copyText = D.copyText,
    citationHash = D.citationHash, parseHash = D.parseHash;
  var view = {};

  /** The sentence that holds the answer: sentence, else the first citation. */
  function quoted(answer) {
    return answer.sentence || (answer.citations && answer.citations[0]) || null;
  }

  view.assistantText = function (answer) {
    if (answer.answer === null || answer.answer === undefined) return "No answer.";
    var sentence = quoted(answer);
    return sentence ? sentence.text : String(answer.answer);
  };

  view.spoken = function (answer) {
    if (answer.answer === null || answer.answer === undefined) {
      return "No answer. " + (answer.message || "");
    }
    var sources = (answer.citations || []).length;
    return "Answer: " + answer.answer + ". Quoted: " + this.assistantText(answer) + " Confidence " +
      percent(answer.confidence) + ". " + sources + (sources === 1 ? " source." : " sources.");
  };

  view.renderAnswer = function (answer) {
    var item = h("li", {class: "kz-turn kz-bot"});
    var card = h("article", {class: "kz-answer", "aria-label": "Answer"});
    item.appendChild(card);
    if (answer.answer === null || answer.answer === undefined) {
      card.classList.add("kz-no-answer");
      card.appendChild(h("p", {class: "kz-no-answer-title"}, h("strong", null, "No answer.")));
      card.appendChild(h("p", {class: "kz-no-answer-message"},
        answer.message || "The documents do not answer this question."));
      var closest = (answer.passages || [])[0];
      if (closest) {
        card.appendChild(h("div", {class: "kz-closest"},
          h("p", {class: "kz-closest-title"}, "Closest passage, not an answer:"),
          h("blockquote", {class: "kz-quote kz-closest-text"}, closest.text),
          this.renderSources({citations: [closest], answer: null})));
      }
    } else {
      card.appendChild(this.renderQuote(answer));
      var fill = h("span", {class: "kz-meter-fill"});
      fill.style.width = percent(answer.confidence); // CSSOM, not a style attribute: allowed by the page's CSP
      card.appendChild(h("p", {class: "kz-confidence"},
        "Confidence: ", h("strong", null, confidenceLabel(answer.confidence) + " (" + percent(answer.confidence) + ")"),
        h("span", {class: "kz-meter", "aria-hidden": "true"}, fill)));
      card.appendChild(this.renderSources(answer));
    }
    // A rewrite that reads as a question is shown; search terms carried over in parentheses are for retrieval
    // only, and the user's own words stand.
    if (answer.show_rewrite && answer.standalone_question && answer.standalone_question !== answer.question) {
      card.appendChild(h("p", {class: "kz-searched"}, "Searched for: ", h("q", null, answer.standalone_question)));
    }
    card.appendChild(this.renderActions(answer));
    return item;
  };

  /** Copy (answers only) and a helpful / not helpful verdict, sent to POST /feedback once. */
  view.renderActions = function (answer) {
    var self = this;
    var bar = h("div", {class: "kz-actions"});
    var status = h("span", {class: "kz-action-status", role: "status"});
    if (answer.answer !== null && answer.answer !== undefined) {
      var sentence = quoted(answer);
      var copy = h("button", {class: "kz-button kz-secondary kz-copy", type: "button", onclick: function () {
        var text = (sentence ? sentence.text : String(answer.answer)) +
          (sentence ? "\n\u2014 " + (sentence.title || sentence.doc_id) + " (" + sentence.doc_id + ")" : "");
        copyText(text).then(function () { status.textContent = "Copied."; },
          function () { status.textContent = "Could not copy: select the quote instead."; });
      }}, "Copy answer");
      bar.appendChild(copy);
    }
    var verdict = h("span", {class: "kz-verdict", role: "group", "aria-label": "Was this answer helpful?"});
    function send(helpful) {
      var span = answer.answer_span;
      var body = {question: answer.standalone_question || answer.question, answer: answer.answer === undefined ? null : answer.answer,
        helpful: helpful};
      if (span && answer.answer !== null) { body.doc_id = span.doc_id; body.start = span.start; body.end = span.end; }
      buttons.forEach(function (b) { b.disabled = true; });
      self.request("POST", "/feedback", body).then(function () {
        (helpful ? up : down).setAttribute("aria-pressed", "true");
        status.textContent = "Thanks, your feedback was recorded.";
      }, function (error) {
        buttons.forEach(function (b) { b.disabled = false; });
        status.textContent = "Feedback not sent: " + error.message;
      });
    }
    var up = h("button", {class: "kz-button kz-secondary kz-helpful", type: "button", "aria-pressed": "false",
      onclick: function () { send(true); }}, "Helpful");
    var down = h("button", {class: "kz-button kz-secondary kz-unhelpful", type: "button", "aria-pressed": "false",
      onclick: function () { send(false); }}, "Not helpful");
    var buttons = [up, down];
    verdict.appendChild(up);
    verdict.appendChild(down);
    bar.appendChild(verdict);
    bar.appendChild(status);
    return bar;
  };

  view.renderQuote = function (answer) {
    var sentence = quoted(answer);
    var text = sentence ? sentence.text : "";
    var part = String(answer.answer);
    var quote = h("blockquote", {class: "kz-quote"});
    var at = text ? text.indexOf(part) : -1;
    if (at < 0) {
      if (text) quote.appendChild(h("span", null, text + " "));
      quote.appendChild(h("mark", {class: "kz-hl"}, part));
    } else {
      append(quote, text.slice(0, at));
      quote.appendChild(h("mark", {class: "kz-hl"}, part));
      append(quote, text.slice(at + part.length));
    }
    var count = (answer.citations || []).length;
    for (var i = 1; i <= count; i++) quote.appendChild(h("sup", {class: "kz-ref", "aria-hidden": "true"}, "[" + i + "]"));
    return quote;
  };

  view.renderSources = function (answer) {
    var self = this;
    var citations = (answer.citations || []).slice();
    if (!citations.length && answer.sentence) citations.push(answer.sentence);
    var list = h("ol", {class: "kz-sources"});
    citations.forEach(function (citation, i) {
      var hash = citationHash(citation, answer.answer);
      var href = self.mode === "page" ? hash : self.api + "/" + hash;
      var link = h("a", {class: "kz-source", href: href, "data-doc-id": citation.doc_id},
        h("span", {class: "kz-source-number"}, "[" + (i + 1) + "]"), " ", citation.title || citation.doc_id);
      link.addEventListener("click", function (event) {
        self.lastTrigger = link;
        if (self.mode === "page") return; // the hash change opens the document
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1) return;
        event.preventDefault();
        self.openDocument(parseHash(hash));
      });
      list.appendChild(h("li", null, link, h("span", {class: "kz-source-id"}, " \u00b7 " + citation.doc_id)));
    });
    return h("div", {class: "kz-sources-block"},
      h("h3", {class: "kz-sources-title"}, citations.length === 1 ? "Source" : "Sources"), list);
  };

  window.KizunaAnswerView = view;
})();
