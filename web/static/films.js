// The films page without a page load: the filter form, the sort headers and the pager fetch only the
// results (the server's escaped HTML, header X-Filmkb-Partial) and swap them in; the address follows
// (history), so every state is still a plain URL. Without script the form and links work as they are.
"use strict";
(function () {
  var form = document.querySelector("form.filters"), results = document.getElementById("results");
  if (!form || !results || !window.fetch || !window.URLSearchParams) return;

  var DEFAULTS = {sort: "film_id", order: "asc", per_page: "50"};

  function sync(url) {  // the form follows the address (a sort header clicked, the browser's back button)
    var params = new URL(url, window.location.href).searchParams;
    ["substrate", "method", "phase", "reference", "q", "sort", "order", "per_page"].forEach(function (name) {
      if (form.elements[name]) form.elements[name].value = params.get(name) || DEFAULTS[name] || "";
    });
  }

  function load(url, push) {
    var started = performance.now();
    fetch(url, {headers: {"X-Filmkb-Partial": "1"}, credentials: "same-origin"}).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.text();
    }).then(function (html) {
      results.innerHTML = html;
      if (push) window.history.pushState(null, "", url);
      sync(url);
      document.dispatchEvent(new CustomEvent("filmkb:results", {detail: {ms: performance.now() - started}}));
    }).catch(function () {
      window.location.href = url;  // an error page (bad parameter, unknown name) says why in full
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) { if (value) params.append(key, value); });
    load("/films?" + params.toString(), true);
  });
  results.addEventListener("click", function (event) {
    var link = event.target.closest("a");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname !== "/films") return;
    event.preventDefault();
    load(url.pathname + url.search, true);
  });
  window.addEventListener("popstate", function () {
    load(window.location.pathname + window.location.search, false);
  });
})();
