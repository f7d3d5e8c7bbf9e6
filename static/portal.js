// Progressive enhancement only: every page works without JavaScript.
// Copy buttons: <button data-copy="#element-id">Copy</button>; "Copied" is also announced
// through a polite live region (present before any copy, so screen readers notice the change).
var copyStatus = document.createElement("p");
copyStatus.className = "visually-hidden";
copyStatus.setAttribute("aria-live", "polite");
document.body.appendChild(copyStatus);
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    copyStatus.textContent = "";
    setTimeout(function () { copyStatus.textContent = "Copied"; }, 50);
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
// API docs (/docs/api). Copy buttons are shown only where copying works. Example requests are
// all shown, each under its heading; here they become tabs (one language for every operation,
// remembered), with the keyboard behaviour of the ARIA tabs pattern.
if (navigator.clipboard) {
  document.querySelectorAll(".docs-copy[hidden]").forEach(function (b) { b.hidden = false; });
}
(function () {
  var groups = document.querySelectorAll("[data-docs-tabs]");
  if (!groups.length) return;
  var saved = null;
  try { saved = localStorage.getItem("docs-lang"); } catch (e) { /* storage off */ }
  var tabsets = [];
  function select(lang, focusIn) {
    tabsets.forEach(function (set) {
      set.tabs.forEach(function (tab, i) {
        var on = tab.getAttribute("data-docs-lang") === lang;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.tabIndex = on ? 0 : -1;
        set.panels[i].hidden = !on;
        if (on && set === focusIn) tab.focus();
      });
    });
    try { localStorage.setItem("docs-lang", lang); } catch (e) { /* storage off */ }
  }
  groups.forEach(function (group, g) {
    var panels = Array.prototype.slice.call(group.querySelectorAll(".docs-tab-panel"));
    var list = document.createElement("div");
    list.className = "docs-tablist";
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", "Language");
    var set = { tabs: [], panels: panels };
    panels.forEach(function (panel, i) {
      var title = panel.querySelector(".docs-tab-title");
      var tab = document.createElement("button");
      tab.type = "button";
      tab.className = "docs-tab";
      tab.id = "docs-tab-" + g + "-" + i;
      tab.setAttribute("role", "tab");
      tab.setAttribute("data-docs-lang", panel.getAttribute("data-docs-lang"));
      tab.textContent = title ? title.textContent : panel.getAttribute("data-docs-lang");
      panel.id = panel.id || "docs-panel-" + g + "-" + i;
      tab.setAttribute("aria-controls", panel.id);
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      if (title) title.hidden = true;
      tab.addEventListener("click", function () { select(tab.getAttribute("data-docs-lang"), null); });
      tab.addEventListener("keydown", function (event) {
        var n = set.tabs.length, to = null;
        if (event.key === "ArrowRight") to = (i + 1) % n;
        else if (event.key === "ArrowLeft") to = (i + n - 1) % n;
        else if (event.key === "Home") to = 0;
        else if (event.key === "End") to = n - 1;
        if (to === null) return;
        event.preventDefault();
        select(set.tabs[to].getAttribute("data-docs-lang"), set);
      });
      set.tabs.push(tab);
      list.appendChild(tab);
    });
    group.insertBefore(list, group.firstChild);
    group.classList.add("docs-tabs-on");
    tabsets.push(set);
  });
  var first = tabsets[0].tabs[0].getAttribute("data-docs-lang");
  var known = tabsets[0].tabs.some(function (t) { return t.getAttribute("data-docs-lang") === saved; });
  select(known ? saved : first, null);
})();
