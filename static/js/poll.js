// Nothing polls from a hidden tab: htmx polling requests are cancelled while the page is
// hidden, and every polling region asks once as soon as the tab is visible again.
// A static file (no inline script, no htmx [filter] expressions) so a strict CSP holds.
//
// It also keeps keyboard focus across swaps: a region that replaces itself (a poll, an
// approval) would otherwise drop focus to the top of the page, and the next Tab would start
// from the brand link again.
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

  // What focus was on when a swap began, if the swap is about to remove it.
  var lost = null;

  // The same control in new markup: same tag and the attributes that say what it does.
  function controlSelector(element) {
    var selector = element.tagName.toLowerCase();
    ["id", "name", "value", "href", "type"].forEach(function (name) {
      var value = element.getAttribute(name);
      if (value !== null) {
        selector += "[" + name + '="' + CSS.escape(value) + '"]';
      }
    });
    return selector;
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || active === document.documentElement;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    var focused = document.activeElement;
    lost = null;
    if (target && !focusLost() && target.contains(focused)) {
      lost = { region: target.id, control: controlSelector(focused) };
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!lost || !focusLost()) {
      return;
    }
    var region = (lost.region && document.getElementById(lost.region)) || event.target;
    var control = null;
    if (region && region.querySelector) {
      control = region.matches(lost.control) ? region : region.querySelector(lost.control);
    }
    lost = null;
    if (control && !control.disabled) {
      control.focus({ preventScroll: true });
    } else if (region && region.focus) {
      // The control is gone (an approved request has no Approve button): the region takes
      // focus, so the next Tab continues inside it.
      if (!region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "-1");
      }
      region.focus({ preventScroll: true });
    }
  });
})();
