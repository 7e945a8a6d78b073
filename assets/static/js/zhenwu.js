// 镇务通 progressive enhancement. Every page works without this file; it only saves round trips.
(function () {
  "use strict";
  var toggle = document.getElementById("text-size-toggle");
  if (toggle) {
    toggle.addEventListener("click", function (event) {
      event.preventDefault();
      var root = document.documentElement;
      var large = !root.classList.contains("text-large");
      root.classList.toggle("text-large", large);
      document.cookie = "zw_text=" + (large ? "large" : "normal") +
        "; Path=/; Max-Age=31536000; SameSite=Lax";
      toggle.textContent = large ? toggle.dataset.normal : toggle.dataset.large;
      toggle.setAttribute("href", toggle.getAttribute("href")
        .replace(/size=(large|normal)/, "size=" + (large ? "normal" : "large")));
    });
  }
})();
