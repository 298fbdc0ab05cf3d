// Nothing polls from a hidden tab: htmx polling requests are cancelled while the page is
// hidden, and every polling region asks once as soon as the tab is visible again.
// A static file (no inline script, no htmx [filter] expressions) so a strict CSP holds.
(function () {
  "use strict";
  var POLLING = "[data-poll]";

  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail && event.detail.elt;
    if (document.hidden && source && source.matches && source.matches(POLLING)) {
      event.preventDefault();
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) {
      return;
    }
    document.querySelectorAll(POLLING).forEach(function (region) {
      var url = region.getAttribute("hx-get");
      if (url) {
        window.htmx.ajax("GET", url, { source: region, target: region, swap: "outerHTML" });
      }
    });
  });
})();
