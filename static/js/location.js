/* "Me localiser": progressive enhancement of the location form.
   Without JavaScript the form works with a postcode or a town. */
(function () {
  "use strict";
  var form = document.querySelector("[data-location-form]");
  if (!form || !("geolocation" in navigator)) return;
  var button = form.querySelector("[data-geolocate]");
  var status = form.querySelector("[data-geolocate-status]");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.getAttribute("data-waiting") || "…";
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var url = new URL(window.location.href);
        url.searchParams.delete("near");
        url.searchParams.set("lat", position.coords.latitude.toFixed(4));
        url.searchParams.set("lon", position.coords.longitude.toFixed(4));
        url.searchParams.set("radius", form.elements.radius.value);
        window.location.assign(url.toString());
      },
      function (error) {
        status.textContent = button.getAttribute("data-failed") + " (" + error.message + ")";
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 }
    );
  });
})();
