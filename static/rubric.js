// Shows the score and verdict of the grading form as levels are chosen, before saving. The
// server works the grade out again when it is saved and its answer is the one that counts; this
// mirrors lms/demonstrations/rubric.py (keep the sentences alike).
(function () {
  var form = document.querySelector("form[data-rubric-live]");
  if (!form) { return; }
  var output = document.getElementById("live-verdict");
  var maxPoints = parseInt(form.getAttribute("data-max-points"), 10);
  var proficientAt = parseFloat(form.getAttribute("data-proficient-at"));
  var lowest = form.getAttribute("data-lowest-level");
  var criteria = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-criterion]"));

  function quoted(titles) {
    var marked = titles.map(function (t) { return "\u201c" + t + "\u201d"; });
    if (marked.length === 1) { return marked[0]; }
    return marked.slice(0, -1).join(", ") + " and " + marked[marked.length - 1];
  }

  function update() {
    var points = 0, chosen = 0, notYet = [];
    criteria.forEach(function (fieldset) {
      var picked = fieldset.querySelector("input[type=radio]:checked");
      if (!picked) { return; }
      var index = parseInt(picked.value, 10);
      var scale = fieldset.getAttribute("data-points").split(" ");
      chosen += 1;
      points += parseInt(scale[index], 10);
      if (index === 0) { notYet.push(fieldset.getAttribute("data-criterion")); }
    });
    output.hidden = false;
    output.classList.remove("proficient", "needs-work");
    var percent = maxPoints ? Math.round(points * 100 / maxPoints) : 0;
    var score = points + " of " + maxPoints + " points (" + percent + "%)";
    // A criterion at the lowest level decides on its own, so there is no need to wait.
    if (chosen < criteria.length && notYet.length === 0) {
      var left = criteria.length - chosen;
      output.textContent = "So far " + score + "; choose a level for " + left + " more " +
        (left === 1 ? "criterion" : "criteria") + " to see the verdict.";
      return;
    }
    // Integers, as the server compares: 0.75 of 16 is exactly 12.
    var meets = points * 10000 >= Math.round(proficientAt * 10000) * maxPoints;
    var verdict;
    if (meets && notYet.length === 0) {
      verdict = "proficient";
    } else if (notYet.length) {
      verdict = "needs work: " + quoted(notYet) + (notYet.length === 1 ? " is" : " are") +
        " at " + lowest;
    } else {
      verdict = "needs work: " + points + " of " + maxPoints + " points, under the " +
        Math.round(proficientAt * 100) + "% needed";
    }
    output.classList.add(verdict === "proficient" ? "proficient" : "needs-work");
    // A Not yet decides before every level is chosen; the points are then a running total.
    output.textContent = (chosen < criteria.length ? "So far " : "Score ") + score + ": " +
      verdict + ".";
  }

  form.addEventListener("change", update);
  update();
})();
