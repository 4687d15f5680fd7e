/*
 * Kizuna chat: the conversation UI shared by the chat page (GET /) and the embeddable widget (GET /widget.js).
 *
 * Plain JavaScript, no build step, no dependencies. Document and answer text is only ever inserted as text
 * (textContent / text nodes), never as HTML. Offsets from the API count Unicode code points (Python str indices);
 * they are converted to JavaScript (UTF-16) indices before slicing.
 *
 *   KizunaChat.mount(element, {api: "http://host:port", mode: "page" | "widget", onEscape: fn})
 *
 * Elements with a data-kizuna-chat attribute are mounted in page mode when the script loads.
 */
(function () {
  "use strict";
  if (window.KizunaChat) return;

  var MAX_HISTORY = 20; // messages sent with each /chat request (the API accepts up to 50)
  var REQUEST_TIMEOUT_MS = 30000;
  var instances = 0;

  // -- DOM helpers ---------------------------------------------------------------------------------------------------

  /** h("p", {class: "x"}, "text", child) - children that are strings become text nodes, never HTML. */
  function h(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(node, c); });
    else if (typeof child === "string" || typeof child === "number") node.appendChild(document.createTextNode(String(child)));
    else node.appendChild(child);
  }

  /** The JavaScript string index of a code-point offset (they differ only past characters outside the BMP). */
  function unitIndex(text, codePoints) {
    if (!/[\uD800-\uDFFF]/.test(text)) return Math.max(0, Math.min(codePoints, text.length));
    var units = 0, seen = 0;
    for (var ch of text) {
      if (seen >= codePoints) break;
      units += ch.length;
      seen += 1;
    }
    return units;
  }

  /** The code-point offset of a JavaScript string index. */
  function codePointIndex(text, units) {
    return Array.from(text.slice(0, units)).length;
  }

  /** Rounded down, so that a confidence below 1 never reads "100%". */
  function percent(x) {
    return Math.floor(Math.max(0, Math.min(1, Number(x) || 0)) * 100 + 1e-9) + "%";
  }

  function confidenceLabel(x) {
    return x >= 0.8 ? "high" : x >= 0.5 ? "medium" : "low";
  }

  function docPath(docId) {
    return String(docId).split("/").map(encodeURIComponent).join("/");
  }

  function safeUrl(value) {
    try {
      var url = new URL(String(value));
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /** The clipboard API where the page may use it (a secure context), else a selected textarea and copy. */
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = h("textarea", {class: "kz-visually-hidden", readonly: true, "aria-hidden": "true"});
      area.value = text;
      document.body.appendChild(area);
      area.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      area.remove();
      if (copied) resolve(); else reject(new Error("copy refused"));
    });
  }

  /** "#doc=...&start=..&end=..[&astart=..&aend=..]" for a citation; the answer part is highlighted inside it. */
  function citationHash(citation, answer) {
    var params = new URLSearchParams();
    params.set("doc", citation.doc_id);
    params.set("start", String(citation.start));
    params.set("end", String(citation.end));
    if (answer && citation.text) {
      var at = citation.text.indexOf(answer);
      if (at >= 0 && answer.length < citation.text.length) {
        var from = citation.start + codePointIndex(citation.text, at);
        params.set("astart", String(from));
        params.set("aend", String(from + Array.from(answer).length));
      }
    }
    return "#" + params.toString();
  }

  function parseHash(hash) {
    var params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
    var docId = params.get("doc");
    if (!docId) return null;
    function num(name) {
      var v = params.get(name);
      return v !== null && /^\d+$/.test(v) ? parseInt(v, 10) : null;
    }
    return {doc_id: docId, start: num("start"), end: num("end"), astart: num("astart"), aend: num("aend")};
  }

  // -- the chat ------------------------------------------------------------------------------------------------------

  function Chat(root, options) {
    options = options || {};
    this.root = root;
    this.api = String(options.api || "").replace(/\/+$/, "");
    this.mode = options.mode === "widget" ? "widget" : "page";
    this.onEscape = options.onEscape || null;
    this.messages = [];
    this.pending = false;
    this.lastTrigger = null;
    this.docRequest = 0;
    this.id = "kizuna-" + (++instances);
    this.build();
    if (this.mode === "page") {
      var self = this;
      window.addEventListener("hashchange", function () { self.showHash(); });
      this.showHash();
    }
  }

  Chat.prototype.build = function () {
    var self = this, id = this.id;
    this.input = h("input", {
      id: id + "-question", class: "kz-input", type: "text", name: "question", autocomplete: "off",
      maxlength: "1000", required: true, "aria-describedby": id + "-hint", enterkeyhint: "send"
    });
    this.askButton = h("button", {class: "kz-button kz-primary", type: "submit"}, "Ask");
    this.form = h("form", {class: "kz-form", onsubmit: function (event) { event.preventDefault(); self.submit(); }},
      h("label", {class: "kz-label", for: id + "-question"}, "Your question"),
      h("div", {class: "kz-row"}, this.input, this.askButton),
      h("p", {class: "kz-hint", id: id + "-hint"},
        "Answers are quoted from the documents. Follow-up questions such as \u201cAnd when was it signed?\u201d work."));
    this.log = h("ol", {class: "kz-log", "aria-label": "Conversation"});
    this.announcer = h("div", {class: "kz-visually-hidden", role: "status", "aria-live": "polite", "aria-atomic": "true"});
    this.about = h("div", {class: "kz-about"});
    this.examples = h("ul", {class: "kz-examples", "aria-label": "Example questions"});
    this.intro = h("div", {class: "kz-intro"},
      h("p", {class: "kz-intro-text"}, "Ask a question about the documents. Each answer quotes a sentence and links to its sources."),
      this.about, this.examples);
    this.scroller = h("div", {class: "kz-scroller"}, this.intro, this.log);
    this.newButton = h("button", {class: "kz-button kz-secondary kz-new", type: "button",
      onclick: function () { self.reset(); }}, "New conversation");
    this.chat = h("section", {class: "kz-chat", "aria-label": "Chat"},
      h("div", {class: "kz-toolbar"}, this.newButton), this.scroller, this.form, this.announcer);

    this.docTitle = h("h2", {class: "kz-doc-title", id: id + "-doc-title"});
    this.docMeta = h("div", {class: "kz-doc-meta"});
    this.docText = h("div", {class: "kz-doc-text"});
    this.backButton = h("button", {class: "kz-button kz-secondary kz-back", type: "button",
      onclick: function () { self.closeDocument(); }}, "\u2190 Back to the conversation");
    this.docView = h("section", {class: "kz-docview", "aria-labelledby": id + "-doc-title", hidden: true},
      h("div", {class: "kz-doc-head"}, this.backButton, this.docTitle, this.docMeta), this.docText);

    this.loadCollection();
    this.root.classList.add("kz-app", this.mode === "widget" ? "kz-embedded" : "kz-page");
    this.root.appendChild(this.chat);
    this.root.appendChild(this.docView);
    this.root.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      if (!self.docView.hidden) {
        event.preventDefault();
        event.stopPropagation();
        self.closeDocument();
      } else if (self.onEscape) {
        event.preventDefault();
        event.stopPropagation();
        self.onEscape();
      }
    });
  };

  Chat.prototype.focus = function () {
    (this.docView.hidden ? this.input : this.backButton).focus();
  };

  Chat.prototype.reset = function () {
    this.messages = [];
    this.log.textContent = "";
    this.intro.hidden = false;
    this.announce("New conversation.");
    this.input.focus();
  };

  Chat.prototype.announce = function (text) {
    // Clear first so that the same text twice is announced twice.
    var announcer = this.announcer;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  };

  Chat.prototype.scrollToEnd = function () {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  };

  /** The empty state: what the collection is (GET /collection) and example questions that ask when clicked. */
  Chat.prototype.loadCollection = function () {
    var self = this;
    this.request("GET", "/collection").then(function (collection) {
      var size = collection.documents + (collection.documents === 1 ? " document" : " documents");
      self.about.textContent = "";
      if (collection.description) self.about.appendChild(h("span", {class: "kz-description"}, collection.description));
      var titles = collection.titles || [];
      self.about.appendChild(titles.length ? h("details", {class: "kz-titles"},
        h("summary", null, size + " in the collection"),
        h("ul", null, titles.map(function (t) { return h("li", null, t); }),
          collection.documents > titles.length ? h("li", null, "\u2026") : null)) : h("span", null, size + "."));
      self.examples.textContent = "";
      (collection.examples || []).forEach(function (question) {
        self.examples.appendChild(h("li", null, h("button", {class: "kz-button kz-secondary kz-example", type: "button",
          onclick: function () { self.ask(question); }}, question)));
      });
      if (collection.examples && collection.examples.length) {
        self.examples.insertAdjacentElement("beforebegin", h("p", {class: "kz-examples-title"}, "Try one of these:"));
      }
    }).catch(function () { /* the empty state is a courtesy: the chat works without it */ });
  };

  Chat.prototype.submit = function () {
    var question = this.input.value.trim();
    if (!question) this.input.focus();
    else if (!this.pending) {
      this.input.value = "";
      this.ask(question);
    }
  };

  Chat.prototype.ask = function (question) {
    if (this.pending) return;
    var self = this;
    this.intro.hidden = true;
    this.messages.push({role: "user", content: question});
    this.log.appendChild(h("li", {class: "kz-turn kz-user"},
      h("span", {class: "kz-visually-hidden"}, "You asked: "), h("p", {class: "kz-bubble"}, question)));
    var waiting = h("li", {class: "kz-turn kz-bot kz-waiting"}, h("p", {class: "kz-bubble"}, "Searching the documents\u2026"));
    this.log.appendChild(waiting);
    this.scrollToEnd();
    this.setPending(true);
    this.announce("Searching the documents\u2026");

    var history = this.messages.slice(-MAX_HISTORY);
    while (history.length > 1 && history[0].role !== "user") history.shift();
    this.request("POST", "/chat", {messages: history}).then(function (answer) {
      waiting.replaceWith(self.renderAnswer(answer));
      self.messages.push({role: "assistant", content: self.assistantText(answer)});
      self.announce(self.spoken(answer));
    }).catch(function (error) {
      self.messages.pop();
      waiting.replaceWith(h("li", {class: "kz-turn kz-bot"},
        h("p", {class: "kz-bubble kz-error", role: "alert"}, "Could not get an answer: " + error.message)));
    }).then(function () {
      self.setPending(false);
      self.scrollToEnd();
    });
  };

  Chat.prototype.setPending = function (pending) {
    this.pending = pending;
    this.askButton.disabled = pending;
    this.log.setAttribute("aria-busy", pending ? "true" : "false");
  };

  Chat.prototype.request = function (method, path, body) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var init = {method: method, headers: {Accept: "application/json"}, signal: controller ? controller.signal : undefined};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(this.api + path, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) {
          var reason = data && typeof data.error === "string" ? data.error : "HTTP " + response.status;
          throw new Error(reason);
        }
        if (!data) throw new Error("the service sent an unreadable reply");
        return data;
      });
    }, function (error) {
      if (error && error.name === "AbortError") throw new Error("the service took too long to reply.");
      throw new Error("the Kizuna service could not be reached (it may be down, or this site may not be allowed to use it).");
    }).finally(function () {
      if (timer) window.clearTimeout(timer);
    });
  };

  /** The sentence that holds the answer: sentence, else the first citation. */
  function quoted(answer) {
    return answer.sentence || (answer.citations && answer.citations[0]) || null;
  }

  Chat.prototype.assistantText = function (answer) {
    if (answer.answer === null || answer.answer === undefined) return "No answer.";
    var sentence = quoted(answer);
    return sentence ? sentence.text : String(answer.answer);
  };

  Chat.prototype.spoken = function (answer) {
    if (answer.answer === null || answer.answer === undefined) {
      return "No answer. " + (answer.message || "");
    }
    var sources = (answer.citations || []).length;
    return "Answer: " + answer.answer + ". Quoted: " + this.assistantText(answer) + " Confidence " +
      percent(answer.confidence) + ". " + sources + (sources === 1 ? " source." : " sources.");
  };

  Chat.prototype.renderAnswer = function (answer) {
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
  Chat.prototype.renderActions = function (answer) {
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

  Chat.prototype.renderQuote = function (answer) {
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

  Chat.prototype.renderSources = function (answer) {
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

  // -- the document view ---------------------------------------------------------------------------------------------

  Chat.prototype.showHash = function () {
    var target = parseHash(window.location.hash);
    if (target) this.openDocument(target);
    else if (!this.docView.hidden) this.hideDocument();
  };

  Chat.prototype.openDocument = function (target) {
    var self = this;
    var request = ++this.docRequest;
    this.docTitle.textContent = "Loading\u2026";
    this.docMeta.textContent = "";
    this.docText.textContent = "";
    this.showDocView();
    this.request("GET", "/documents/" + docPath(target.doc_id)).then(function (doc) {
      if (request !== self.docRequest) return;
      self.renderDocument(doc, target);
    }).catch(function (error) {
      if (request !== self.docRequest) return;
      self.docTitle.textContent = "Document unavailable";
      self.docText.textContent = "";
      self.docText.appendChild(h("p", {class: "kz-error", role: "alert"}, "Could not open the document: " + error.message));
      self.backButton.focus();
    });
  };

  Chat.prototype.showDocView = function () {
    this.docView.hidden = false;
    this.root.classList.add("kz-doc-open");
  };

  Chat.prototype.renderDocument = function (doc, target) {
    var text = String(doc.text || "");
    this.docTitle.textContent = doc.title || doc.doc_id;
    var meta = doc.metadata || {};
    var details = [doc.doc_id];
    if (meta.date) details.push(String(meta.date));
    if (Array.isArray(meta.tags) && meta.tags.length) details.push(meta.tags.join(", "));
    // Collapsed, so that a long list of source links never pushes the cited passage off a small screen.
    var sources = (Array.isArray(meta.sources) ? meta.sources : []).map(safeUrl).filter(Boolean);
    this.docMeta.textContent = "";
    this.docMeta.appendChild(h("details", {class: "kz-doc-details"},
      h("summary", null, sources.length ? "Sources (" + sources.length + ")" : "Sources"),
      h("p", {class: "kz-doc-facts"}, details.join(" \u00b7 ")),
      sources.length ? h("ul", {class: "kz-doc-links"}, sources.map(function (url) {
        return h("li", null, h("a", {href: url, target: "_blank", rel: "noopener noreferrer"}, url));
      })) : null));

    this.docText.textContent = "";
    var mark = null;
    var valid = target.start !== null && target.end !== null && target.start < target.end;
    if (valid) {
      var start = unitIndex(text, target.start), end = unitIndex(text, target.end);
      append(this.docText, text.slice(0, start));
      mark = h("mark", {class: "kz-cited", tabindex: "-1"});
      var aStart = target.astart, aEnd = target.aend;
      if (aStart !== null && aEnd !== null && target.start <= aStart && aStart < aEnd && aEnd <= target.end) {
        var s = unitIndex(text, aStart), e = unitIndex(text, aEnd);
        append(mark, text.slice(start, s));
        mark.appendChild(h("strong", {class: "kz-answer-part"}, text.slice(s, e)));
        append(mark, text.slice(e, end));
      } else {
        append(mark, text.slice(start, end));
      }
      this.docText.appendChild(mark);
      append(this.docText, text.slice(end));
    } else {
      append(this.docText, text);
    }
    if (mark) {
      mark.scrollIntoView({block: "center", inline: "nearest"});
      mark.focus({preventScroll: true});
    } else {
      this.docView.scrollTop = 0;
      this.backButton.focus();
    }
  };

  Chat.prototype.closeDocument = function () {
    if (this.mode === "page" && parseHash(window.location.hash)) {
      history.pushState(null, "", window.location.pathname + window.location.search);
    }
    this.hideDocument();
  };

  Chat.prototype.hideDocument = function () {
    this.docRequest++;
    this.docView.hidden = true;
    this.root.classList.remove("kz-doc-open");
    var trigger = this.lastTrigger;
    if (trigger && trigger.isConnected) trigger.focus();
    else this.input.focus();
  };

  function mount(element, options) {
    if (element.__kizunaChat) return element.__kizunaChat;
    var chat = new Chat(element, options);
    element.__kizunaChat = chat;
    return chat;
  }

  window.KizunaChat = {mount: mount, version: "1"};

  function autoMount() {
    var nodes = document.querySelectorAll("[data-kizuna-chat]");
    for (var i = 0; i < nodes.length; i++) {
      mount(nodes[i], {api: nodes[i].getAttribute("data-api") || "", mode: "page"});
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoMount);
  else autoMount();
})();
