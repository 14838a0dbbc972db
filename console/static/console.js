// Asks before destructive forms (data-confirm) and keeps live parts of a
// page current: an element with data-live="URL" is replaced every
// data-every seconds by the HTML fragment URL answers (the cluster page's
// tables, figures and charts, rendered and escaped on the server). No
// inline script: the Content-Security-Policy allows only this file.
"use strict";
document.addEventListener("submit", function (ev) {
  var msg = ev.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
  }
});
(function () {
  var live = document.querySelector("[data-live]");
  if (!live) {
    return;
  }
  var url = live.getAttribute("data-live");
  var every = Math.max(1, Number(live.getAttribute("data-every")) || 5) * 1000;
  function tick() {
    if (!window.fetch || !window.DOMParser) {
      window.location.reload();
      return;
    }
    window.fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
      if (resp.redirected || resp.status === 401) {
        window.location.reload(); // signed out or expired: to the sign-in form
        return null;
      }
      return resp.ok ? resp.text() : null;
    }).then(function (text) {
      if (text !== null && text !== undefined) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        live.replaceChildren.apply(live, Array.from(doc.body.childNodes));
        live.setAttribute("data-updated", String(Date.now()));
      }
    }).catch(function () {
      // The server is away: try again at the next tick.
    }).then(function () {
      window.setTimeout(tick, every);
    });
  }
  window.setTimeout(tick, every);
})();
