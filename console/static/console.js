// Asks before destructive forms (data-confirm) and refreshes pages that
// ask for it (data-refresh on body, in seconds). No inline script: the
// Content-Security-Policy allows only this file.
"use strict";
document.addEventListener("submit", function (ev) {
  var msg = ev.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
  }
});
(function () {
  var s = document.body && document.body.getAttribute("data-refresh");
  if (s) {
    window.setTimeout(function () { window.location.reload(); }, Number(s) * 1000);
  }
})();
