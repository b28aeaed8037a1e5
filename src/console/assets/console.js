// numberdesk console: small improvements on top of pages that work without scripts.
(function () {
  "use strict";

  // Times: the server writes UTC; show them in the reader's own time zone.
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
    });
  } catch (e) { fmt = null; }
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (fmt && !isNaN(d.getTime())) {
      el.title = el.textContent;
      el.textContent = fmt.format(d);
    }
  });

  // Filters apply as soon as a choice changes.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // Order form: a new profile or type refreshes the choices; any change refreshes availability.
  var order = document.getElementById("order-form");
  if (order) {
    var check = document.getElementById("check");
    var refresh = function () {
      if (order.requestSubmit) { order.requestSubmit(check); } else { check.click(); }
    };
    order.querySelectorAll("select[data-refresh]").forEach(function (el) {
      el.addEventListener("change", refresh);
    });
    ["locale", "rangeSize"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.addEventListener("change", refresh); }
    });
  }
})();
