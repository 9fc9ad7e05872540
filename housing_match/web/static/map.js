/*
 * The map component of every page: a thin layer over the vendored Leaflet, so pages say what
 * to show (markers, circles, a point picker) and never call Leaflet themselves.
 *
 * Declarative: an element with `data-map` and a JSON `data-map-config` becomes a map when the
 * page loads, and when htmx swaps it in. The config (templates/macros/map.html writes it):
 *   center: [lat, lon] | null   zoom: number       (null center: fit markers and circles)
 *   tiles: {url, attribution, attribution_url, max_zoom} | null   (null: no background tiles;
 *          markers, circles and the scale still show, on a plain grid)
 *   markers: [{lat, lon, label}]
 *   circles: [{lat, lon, radius_m, label, kind: "anchor" | "exclusion"}]
 *   picker:  {latitude, longitude, radius, radius_output, status, clear, kind, label} | null
 *            (CSS selectors of the hidden inputs, the range input and its output, the status
 *            line and the clear button)
 *
 * Script API, for pages that need more: HousingMap.create(element, config) → a map object
 * with addMarker, addCircle, fit and leaflet (the L.Map); HousingMap.formatDistance(metres).
 */
(function () {
  "use strict";

  var DEFAULT_CENTER = [34.6937, 135.5023]; // 大阪市役所: any centre is better than (0, 0)
  var STYLES = {
    anchor: { color: "#0017c1", weight: 3, fillOpacity: 0.12 },
    exclusion: { color: "#ec0000", weight: 3, dashArray: "8 6", fillOpacity: 0.12 },
  };

  /* The same rule as housing_match/web/formatting.py distance(). */
  function formatDistance(metres) {
    if (metres < 995) {
      return (Math.round(metres / 10) * 10).toLocaleString("ja-JP") + " m";
    }
    var kilometres = metres / 1000;
    if (kilometres < 9.95) {
      return (Math.round(kilometres * 10) / 10).toFixed(1) + " km";
    }
    return Math.round(kilometres).toLocaleString("ja-JP") + " km";
  }

  function escapeHtml(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span.innerHTML;
  }

  function formatPoint(lat, lon) {
    return "北緯" + lat.toFixed(5) + "度、東経" + lon.toFixed(5) + "度";
  }

  function create(element, config) {
    config = config || {};
    var leafletMap = L.map(element, {
      zoomControl: false,
      zoomSnap: 0.25, // fits markers and circles snugly, not only at whole zoom levels
      attributionControl: false,
      keyboard: true,
    });
    L.control.zoom({ zoomInTitle: "拡大", zoomOutTitle: "縮小", position: "topleft" }).addTo(leafletMap);
    L.control.scale({ imperial: false, maxWidth: 160 }).addTo(leafletMap);
    var attribution = L.control.attribution({ prefix: "Leaflet" }).addTo(leafletMap);
    if (config.tiles && config.tiles.url) {
      var credit = escapeHtml(config.tiles.attribution || "");
      if (config.tiles.attribution_url) {
        credit = '<a href="' + escapeHtml(config.tiles.attribution_url) + '">' + credit + "</a>";
      }
      L.tileLayer(config.tiles.url, {
        maxZoom: config.tiles.max_zoom || 18,
        attribution: credit,
      }).addTo(leafletMap);
    } else {
      element.classList.add("map--no-tiles");
      attribution.addAttribution("地図画像なし（目盛りと図形のみ）");
    }
    var bounds = L.latLngBounds([]);
    var layers = L.featureGroup().addTo(leafletMap);

    var api = {
      leaflet: leafletMap,
      layers: layers,
      addMarker: function (marker) {
        var options = { title: marker.label || "", alt: marker.label || "地点", keyboard: true };
        var layer = L.marker([marker.lat, marker.lon], options).addTo(layers);
        if (marker.label) {
          layer.bindTooltip(escapeHtml(marker.label));
        }
        bounds.extend(layer.getLatLng());
        return layer;
      },
      addCircle: function (circle) {
        var style = STYLES[circle.kind] || STYLES.anchor;
        var layer = L.circle([circle.lat, circle.lon], L.extend({ radius: circle.radius_m }, style)).addTo(layers);
        if (circle.label) {
          layer.bindTooltip(escapeHtml(circle.label + "（半径" + formatDistance(circle.radius_m) + "）"));
        }
        // From the centre and radius: getBounds() needs the map's view, not set yet here.
        bounds.extend(L.latLng(circle.lat, circle.lon).toBounds(circle.radius_m * 2));
        return layer;
      },
      fit: function () {
        if (bounds.isValid()) {
          leafletMap.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
        } else {
          leafletMap.setView(config.center || DEFAULT_CENTER, config.zoom || 13);
        }
      },
    };

    (config.markers || []).forEach(api.addMarker);
    (config.circles || []).forEach(api.addCircle);
    if (config.center) {
      leafletMap.setView(config.center, config.zoom || 13);
    } else {
      api.fit();
    }
    if (config.picker) {
      bindPicker(api, element, config.picker);
    }
    // A map laid out while hidden (a closed <details>, a tab) measures itself again when shown.
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        leafletMap.invalidateSize();
      }).observe(element);
    }
    return api;
  }

  function bindPicker(api, element, picker) {
    var find = function (selector) {
      return selector ? document.querySelector(selector) : null;
    };
    var latInput = find(picker.latitude);
    var lonInput = find(picker.longitude);
    var radiusInput = find(picker.radius);
    var radiusOutput = find(picker.radius_output);
    var status = find(picker.status);
    var clearButton = find(picker.clear);
    var style = STYLES[picker.kind] || STYLES.anchor;
    var marker = null;
    var circle = null;

    function radius() {
      return radiusInput ? Number(radiusInput.value) : 0;
    }

    function showRadius() {
      var text = formatDistance(radius());
      if (radiusOutput) radiusOutput.textContent = text;
      if (radiusInput) radiusInput.setAttribute("aria-valuetext", text);
      if (circle) circle.setRadius(radius());
    }

    function place(latlng, announce) {
      var lat = Math.round(latlng.lat * 1e6) / 1e6;
      var lon = Math.round(latlng.lng * 1e6) / 1e6;
      if (latInput) latInput.value = String(lat);
      if (lonInput) lonInput.value = String(lon);
      if (!marker) {
        marker = L.marker([lat, lon], { title: picker.label, alt: picker.label, keyboard: false }).addTo(api.layers);
        circle = L.circle([lat, lon], L.extend({ radius: radius() }, style)).addTo(api.layers);
      } else {
        marker.setLatLng([lat, lon]);
        circle.setLatLng([lat, lon]);
      }
      showRadius();
      if (clearButton) clearButton.hidden = false;
      if (status && announce) status.textContent = "地点を選びました（" + formatPoint(lat, lon) + "）。";
      element.dispatchEvent(new CustomEvent("map:pointchange", { bubbles: true, detail: { lat: lat, lon: lon } }));
    }

    function clear() {
      if (marker) {
        api.layers.removeLayer(marker);
        api.layers.removeLayer(circle);
        marker = circle = null;
      }
      if (latInput) latInput.value = "";
      if (lonInput) lonInput.value = "";
      if (clearButton) clearButton.hidden = true;
      if (status) status.textContent = "まだ地点を選んでいません。";
      element.dispatchEvent(new CustomEvent("map:pointchange", { bubbles: true, detail: null }));
    }

    element.classList.add("map--picker");
    api.leaflet.on("click", function (event) {
      place(event.latlng, true);
    });
    element.addEventListener("keydown", function (event) {
      if (event.target !== element) return; // a zoom button or a marker has the focus
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        place(api.leaflet.getCenter(), true);
      }
    });
    if (radiusInput) radiusInput.addEventListener("input", showRadius);
    if (clearButton) clearButton.addEventListener("click", clear);

    var lat = latInput && latInput.value !== "" ? Number(latInput.value) : NaN;
    var lon = lonInput && lonInput.value !== "" ? Number(lonInput.value) : NaN;
    if (!isNaN(lat) && !isNaN(lon)) {
      place(L.latLng(lat, lon), false);
      if (status) status.textContent = "地点を選びました（" + formatPoint(lat, lon) + "）。";
      api.leaflet.setView([lat, lon], api.leaflet.getZoom());
    } else if (clearButton) {
      clearButton.hidden = true;
    }
  }

  function initAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var elements = Array.prototype.slice.call(scope.querySelectorAll("[data-map]"));
    if (scope.matches && scope.matches("[data-map]")) elements.push(scope);
    elements.forEach(function (element) {
      if (element.housingMap) return;
      var config = {};
      try {
        config = JSON.parse(element.getAttribute("data-map-config") || "{}");
      } catch (error) {
        console.error("data-map-config is not JSON", error);
      }
      element.housingMap = create(element, config);
    });
  }

  window.HousingMap = { create: create, initAll: initAll, formatDistance: formatDistance };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      initAll(document);
    });
  } else {
    initAll(document);
  }
  document.addEventListener("htmx:load", function (event) {
    initAll(event.target);
  });
})();
