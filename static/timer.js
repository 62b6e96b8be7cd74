// Counts down the time left in an attempt. The server enforces the limit; this only informs.
(function () {
  var timer = document.querySelector("[data-seconds-left]");
  if (!timer) { return; }
  var left = parseInt(timer.getAttribute("data-seconds-left"), 10);
  var value = timer.querySelector(".timer-value");
  var started = Date.now();
  function tick() {
    var remaining = Math.max(0, left - Math.floor((Date.now() - started) / 1000));
    value.textContent = Math.floor(remaining / 60) + " min " + (remaining % 60) + " s";
    if (remaining === 60) { timer.setAttribute("aria-live", "assertive"); }
    if (remaining > 0) { window.setTimeout(tick, 1000); }
  }
  tick();
})();
