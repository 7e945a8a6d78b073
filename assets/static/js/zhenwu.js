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
  // Uploads: say at once that a chosen file is over the limit, instead of after a long upload.
  var uploads = document.querySelectorAll("input[type=file][data-max-bytes]");
  Array.prototype.forEach.call(uploads, function (input) {
    input.addEventListener("change", function () {
      var old = document.getElementById(input.id + "-too-large");
      if (old) old.parentNode.removeChild(old);
      var file = input.files && input.files[0];
      var max = Number(input.getAttribute("data-max-bytes"));
      if (!file || !max || file.size <= max) return;
      var note = document.createElement("p");
      note.className = "field-error";
      note.id = input.id + "-too-large";
      note.setAttribute("role", "alert");
      note.textContent = input.getAttribute("data-too-large");
      input.parentNode.insertBefore(note, input.nextSibling);
      input.value = "";
    });
  });
})();
