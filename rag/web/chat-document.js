/*
 * Kizuna chat, part 3 of 4: the document view (a cited document with its passage highlighted and scrolled into
 * view, its metadata behind a Sources toggle). Methods of the chat (chat.js mixes window.KizunaDocumentView in).
 */
(function () {
  "use strict";
  if (window.KizunaDocumentView) return;
  var D = window.KizunaDom;
  var h = D.h, append = D.append, unitIndex = D.unitIndex, docPath = D.docPath, safeUrl = D.safeUrl,
    parseHash = D.parseHash;
  var view = {};

  // -- the document view ---------------------------------------------------------------------------------------------

  view.showHash = function () {
    var target = parseHash(window.location.hash);
    if (target) this.openDocument(target);
    else if (!this.docView.hidden) this.hideDocument();
  };

  view.openDocument = function (target) {
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

  view.showDocView = function () {
    this.docView.hidden = false;
    this.root.classList.add("kz-doc-open");
  };

  view.renderDocument = function (doc, target) {
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

  view.closeDocument = function () {
    if (this.mode === "page" && parseHash(window.location.hash)) {
      history.pushState(null, "", window.location.pathname + window.location.search);
    }
    this.hideDocument();
  };

  view.hideDocument = function () {
    this.docRequest++;
    this.docView.hidden = true;
    this.root.classList.remove("kz-doc-open");
    var trigger = this.lastTrigger;
    if (trigger && trigger.isConnected) trigger.focus();
    else this.input.focus();
  };

  window.KizunaDocumentView = view;
})();
