/*
 * Kizuna chat, part 1 of 4: DOM and text helpers shared by the other parts (window.KizunaDom).
 *
 * Text is only ever inserted as text (textContent / text nodes), never as HTML. Offsets from the API count
 * Unicode code points (Python str indices); unitIndex and codePointIndex convert them to JavaScript (UTF-16) ones.
 * Load order: chat-dom.js, chat-answer.js, chat-document.js, chat.js (the page and widget.js do so).
 */
(function () {
  "use strict";
  if (window.KizunaDom) return;

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

  window.KizunaDom = {h: h, append: append, unitIndex: unitIndex, codePointIndex: codePointIndex, percent: percent,
    confidenceLabel: confidenceLabel, docPath: docPath, safeUrl: safeUrl, copyText: copyText,
    citationHash: citationHash, parseHash: parseHash};
})();
