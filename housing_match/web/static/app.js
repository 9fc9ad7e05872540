/*
 * Behaviour every page shares. Pages work without it; it only helps.
 * - The error summary takes the focus when the page loads, so it is read first.
 * - A link in the error summary moves the focus to its field and scrolls the field's label
 *   (or legend) into view, not just the bare input (the GOV.UK error summary's behaviour).
 * - htmx swaps a 422 answer like a 200: a form with errors comes back as 422 with the fields
 *   and their messages, and must replace the form (htmx would otherwise drop 4xx bodies).
 * - A table too wide for the page, scrolling in its .table-wrap, becomes a named region in
 *   the tab order, so that it can be scrolled with the keyboard.
 * - A part swapped in that is marked data-focus-on-swap takes the focus (its tabindex=-1
 *   heading, else itself).
 */
(function () {
  "use strict";

  if (window.htmx) {
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
      { code: "...", swap: false },
    ];
  }

  function focusSummary(root) {
    var summary = (root || document).querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }

  function labelFor(input) {
    var fieldset = input.closest("fieldset");
    if (fieldset && fieldset.querySelector("legend")) {
      return fieldset.querySelector("legend");
    }
    return document.querySelector('label[for="' + CSS.escape(input.id) + '"]') || input;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!target) return;
    if (target.type === "hidden") {
      // A point picked on a map: its map takes the focus.
      target = target.closest(".field") && target.closest(".field").querySelector("[data-map]");
      if (!target) return;
    }
    event.preventDefault();
    labelFor(target).scrollIntoView();
    target.focus({ preventScroll: true });
  });

  // A table wider than the page scrolls in its .table-wrap: a keyboard user must reach it
  // to scroll it, and a screen reader hear what it is (named after the table's caption).
  function scrollersFocusable(root) {
    (root || document).querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        var table = wrap.querySelector("table");
        var caption = table && table.querySelector("caption");
        var labelledBy = table && table.getAttribute("aria-labelledby");
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        if (caption) {
          wrap.setAttribute("aria-label", caption.textContent.trim());
        } else if (labelledBy) {
          wrap.setAttribute("aria-labelledby", labelledBy);
        } else {
          wrap.setAttribute("aria-label", "表（横にスクロールできます）");
        }
      } else if (!scrolls && wrap.getAttribute("tabindex") === "0") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
      }
    });
  }
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      scrollersFocusable(document);
    }, 100);
  });
  document.addEventListener("htmx:load", function (event) {
    scrollersFocusable(event.target);
  });
  window.addEventListener("load", function () {
    scrollersFocusable(document);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      focusSummary(document);
    });
  } else {
    focusSummary(document);
  }
  document.addEventListener("htmx:load", function (event) {
    focusSummary(event.target);
    // A part swapped in on request (an answer to a question the user asked) takes the focus
    // at its heading, so that it is read next and the keyboard continues from there.
    var answer = event.target.matches("[data-focus-on-swap]")
      ? event.target
      : event.target.querySelector("[data-focus-on-swap]");
    if (answer && !event.target.querySelector("[data-error-summary]")) {
      (answer.querySelector("[tabindex='-1']") || answer).focus();
    }
  });
})();
