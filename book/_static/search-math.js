// Search results: show formulas in the snippets typeset, not as raw TeX ("\(R_{ij}\)").
// Sphinx cuts each snippet from the page's text, in which a formula is its TeX source. Here display
// equations (and their numbers) are left out of that text, a formula cut by either end of the snippet
// is dropped, and each remaining inline formula becomes a math span (which the term highlighter
// skips) that the site's own MathJax typesets. Loaded with `defer`, after searchtools.js.
"use strict";
(() => {
  if (typeof Search === "undefined" || !Search.makeSearchSummary) return;
  const summarize = Search.makeSearchSummary;
  const OPEN = "\\(";
  const CLOSE = "\\)";

  const typeset = (element) => {
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(() => mj.typesetPromise([element])).catch((err) => console.error(err));
    }
  };

  Search.makeSearchSummary = (htmlText, keywords, anchor) => {
    const doc = new DOMParser().parseFromString(htmlText, "text/html");
    doc.querySelectorAll("div.math, span.eqno").forEach((el) => el.remove());
    const summary = summarize(doc.documentElement.outerHTML, keywords, anchor);
    if (!summary) return summary;
    let text = summary.textContent;
    const firstClose = text.indexOf(CLOSE);
    const firstOpen = text.indexOf(OPEN);
    if (firstClose >= 0 && (firstOpen < 0 || firstClose < firstOpen)) {
      text = "..." + text.slice(firstClose + CLOSE.length);
    }
    const lastOpen = text.lastIndexOf(OPEN);
    if (lastOpen >= 0 && text.indexOf(CLOSE, lastOpen) < 0) text = text.slice(0, lastOpen) + "...";
    summary.textContent = "";
    for (const part of text.split(/(\\\([\s\S]*?\\\))/)) {
      if (part.startsWith(OPEN) && part.endsWith(CLOSE)) {
        const span = document.createElement("span");
        span.className = "math notranslate nohighlight";
        span.textContent = part;
        summary.appendChild(span);
      } else if (part) {
        summary.appendChild(document.createTextNode(part));
      }
    }
    setTimeout(() => typeset(summary), 0); // once the caller has inserted it
    return summary;
  };
})();
