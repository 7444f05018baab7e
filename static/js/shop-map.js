/* Draws the shops on a Leaflet map when JavaScript is there; the page
   lists the same shops as plain text without it. */
(function () {
  "use strict";
  var element = document.querySelector("[data-shop-map]");
  if (!element || !window.L) return;
  var points = JSON.parse(document.getElementById("map-points").textContent);
  var tiles = JSON.parse(document.getElementById("map-tiles").textContent);
  if (!points.length) return;
  element.hidden = false;
  var map = L.map(element, { scrollWheelZoom: false });
  L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 18 }).addTo(map);
  var bounds = [];
  points.forEach(function (p) {
    var marker = L.marker([p.lat, p.lon]).addTo(map);
    var link = document.createElement("a");
    link.href = p.url;
    link.textContent = p.name + (p.town ? " — " + p.town : "");
    marker.bindPopup(link);
    bounds.push([p.lat, p.lon]);
  });
  if (bounds.length === 1) map.setView(bounds[0], 14);
  else map.fitBounds(bounds, { padding: [20, 20] });
})();
