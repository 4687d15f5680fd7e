/*
 * Kizuna widget: one tag adds a chat button and a chat panel to any page.
 *
 *   <script src="http://HOST:PORT/widget.js" data-api="http://HOST:PORT"></script>
 *
 * Optional attributes: data-title (the button and panel title, default "Ask Kizuna").
 * The widget lives in a shadow root, so the host page's styles and its own do not mix. It loads the chat's
 * scripts (chat-dom.js ... chat.js) and styles (chat.css ... widget.css) from the server that served this file. The API only answers pages whose origin is in its CORS
 * allow-list (RAG_CORS_ORIGINS).
 */
(function () {
  "use strict";
  if (window.__kizunaWidget) return;
  window.__kizunaWidget = true;

  var script = document.currentScript || document.querySelector("script[src*='widget.js']");
  var scriptUrl = script && script.src ? new URL(script.src, window.location.href) : null;
  var assets = scriptUrl ? scriptUrl.href.replace(/\/widget\.js(?:[?#].*)?$/, "") : "";
  var api = ((script && script.getAttribute("data-api")) || (scriptUrl ? scriptUrl.origin : "")).replace(/\/+$/, "");
  var title = (script && script.getAttribute("data-title")) || "Ask Kizuna";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) node.textContent = text;
    return node;
  }

  function start() {
    var host = el("div", {class: "kizuna-widget", "data-kizuna-widget": ""});
    document.body.appendChild(host);
    var shadow = host.attachShadow({mode: "open"});
    var wrapper = el("div", {class: "kz-widget"});
    // Shown once its styles are in (or failed), so the button never flashes unstyled.
    wrapper.hidden = true;
    var pending = STYLES.length;
    function settled() { if (--pending === 0) wrapper.hidden = false; }
    STYLES.forEach(function (name) {
      var stylesheet = el("link", {rel: "stylesheet", href: assets + "/static/" + name});
      stylesheet.addEventListener("load", settled);
      stylesheet.addEventListener("error", settled);
      shadow.appendChild(stylesheet);
    });
    var launcher = el("button", {class: "kz-launcher", type: "button", "aria-expanded": "false",
      "aria-controls": "kz-panel"});
    launcher.appendChild(el("span", {class: "kz-launcher-icon", "aria-hidden": "true"}));
    launcher.appendChild(el("span", {class: "kz-launcher-label"}, title));
    var panel = el("div", {class: "kz-panel", id: "kz-panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "kz-panel-title"});
    panel.hidden = true;
    var header = el("div", {class: "kz-panel-header"});
    header.appendChild(el("h2", {class: "kz-panel-title", id: "kz-panel-title"}, title));
    var close = el("button", {class: "kz-close", type: "button", "aria-label": "Close the chat"}, "\u00d7");
    header.appendChild(close);
    var body = el("div", {class: "kz-panel-body"});
    panel.appendChild(header);
    panel.appendChild(body);
    wrapper.appendChild(panel);
    wrapper.appendChild(launcher);
    shadow.appendChild(wrapper);

    var chat = window.KizunaChat.mount(body, {api: api, mode: "widget", onEscape: hide});

    function show() {
      panel.hidden = false;
      wrapper.classList.add("kz-open");
      launcher.setAttribute("aria-expanded", "true");
      chat.focus();
    }

    function hide() {
      panel.hidden = true;
      wrapper.classList.remove("kz-open");
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
    }

    launcher.addEventListener("click", function () { if (panel.hidden) show(); else hide(); });
    close.addEventListener("click", hide);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        hide();
      }
    });
  }

  // The chat's parts, in the order they build on each other (chat-dom.js says what each holds), and its styles.
  var PARTS = ["chat-dom.js", "chat-answer.js", "chat-document.js", "chat.js"];
  var STYLES = ["chat.css", "chat-answer.css", "chat-document.css", "widget.css"];

  function load(part) {
    if (window.KizunaChat) return start();
    var loader = document.createElement("script");
    loader.src = assets + "/static/" + PARTS[part];
    loader.onload = function () { if (part + 1 < PARTS.length) load(part + 1); else start(); };
    loader.onerror = function () {
      if (window.console) window.console.error("Kizuna widget: could not load " + loader.src);
    };
    document.head.appendChild(loader);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { load(0); });
  else load(0);
})();
