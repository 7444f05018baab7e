// The stock import progress page, updated in place instead of reloaded (the page refreshes itself without JavaScript).
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var delay = (parseInt(box.dataset.refresh, 10) || 2) * 1000;
  function update() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("import-progress");
        if (!fresh) { return; }
        box.replaceChildren.apply(box, Array.prototype.slice.call(fresh.childNodes));
        box.dataset.done = fresh.dataset.done;
        if (fresh.dataset.done !== "true") { window.setTimeout(update, delay); }
      })
      .catch(function () { window.setTimeout(update, delay * 3); });
  }
  if (box.dataset.done !== "true") { window.setTimeout(update, delay); }
})();
