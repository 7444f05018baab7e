/* Draws the shops on a Leaflet map when JavaScript is there; the page
   lists the same shops as plain text without it. The map is a picture for
   pointer users only (aria-hidden): nothing in it may take keyboard focus. */
(function () {
  "use strict";
  var element = document.querySelector("[data-shop-map]");
  if (!element || !window.L) return;
  var points = JSON.parse(document.getElementById("map-points").textContent);
  var tiles = JSON.parse(document.getElementById("map-tiles").textContent);
  if (!points.length) return;
  function unfocusable(root) {
    root.querySelectorAll("a, button, input, [tabindex]").forEach(function (node) {
      node.setAttribute("tabindex", "-1");
    });
  }
  new MutationObserver(function () { unfocusable(element); }).observe(element, { childList: true, subtree: true });
  element.hidden = false;
  var map = L.map(element, { scrollWheelZoom: false, keyboard: false });
  L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 18 }).addTo(map);
  var bounds = [];
  points.forEach(function (p) {
    var marker = L.marker([p.lat, p.lon], { keyboard: false }).addTo(map);
    var link = document.createElement("a");
    link.href = p.url;
    link.textContent = p.name + (p.town ? " — " + p.town : "");
    marker.bindPopup(link);
    bounds.push([p.lat, p.lon]);
  });
  if (bounds.length === 1) map.setView(bounds[0], 14);
  else map.fitBounds(bounds, { padding: [20, 20] });
  unfocusable(element);
})();
