// Progressive enhancement only: every page works without JavaScript.
// Copy buttons: <button data-copy="#element-id">Copy</button>
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 2000);
  });
});
// Character counters: <textarea data-counter="#counter-id" maxlength="2000">
document.querySelectorAll("[data-counter]").forEach(function (field) {
  var counter = document.querySelector(field.getAttribute("data-counter"));
  if (!counter) return;
  var update = function () { counter.textContent = field.value.length + " / " + field.getAttribute("maxlength"); };
  field.addEventListener("input", update);
  update();
});
// A new event's time zone: the browser's own, when the portal knows it (`data-browser-zone`).
document.querySelectorAll("input[data-browser-zone]").forEach(function (field) {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  var list = field.list;
  if (!zone || !list) return;
  var known = Array.prototype.some.call(list.options, function (o) { return o.value === zone; });
  if (known) field.value = zone;
});
// A form sent back with errors: its summary takes the focus, so it is read first, and each
// entry leads to its field.
(function () {
  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) summary.focus();
})();
