// Keyboard shortcuts of the review page (documented in its footer). Each one clicks a link or button
// that the page has anyway, so everything also works without JavaScript.
"use strict";
document.addEventListener("keydown", function (event) {
  var target = event.target;
  if (event.key === "Escape" && target.tagName === "TEXTAREA") { target.blur(); return; }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target.tagName === "TEXTAREA" || target.tagName === "INPUT") return;
  var click = function (selector) {
    var element = document.querySelector(selector);
    if (element) { event.preventDefault(); element.click(); }
  };
  switch (event.key) {
    case "p": click('[data-key="pass"]'); break;
    case "f": click('[data-key="fail"]'); break;
    case "j": click('[data-key="next"]'); break;
    case "k": click('[data-key="previous"]'); break;
    case "q": click("#home"); break;
    case "n":
      var note = document.getElementById("note");
      if (note) { event.preventDefault(); note.focus(); }
      break;
  }
});
