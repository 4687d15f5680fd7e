/*
 * Kizuna chat, part 4 of 4: the conversation UI shared by the chat page (GET /) and the embeddable widget
 * (GET /widget.js); the answer card and the document view are mixed in from chat-answer.js and chat-document.js.
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

  var D = window.KizunaDom;
  var h = D.h;

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

  [window.KizunaAnswerView, window.KizunaDocumentView].forEach(function (methods) {
    Object.keys(methods).forEach(function (name) { Chat.prototype[name] = methods[name]; });
  });

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
