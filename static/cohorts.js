// Cohort table: a "tick every row on this page" box. Without it, each row is ticked by hand.
(function () {
  var all = document.getElementById("tick-all");
  if (!all) { return; }
  var boxes = document.querySelectorAll("input[name=enrolments]");
  all.hidden = false;
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
})();
