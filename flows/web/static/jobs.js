// Refreshes the jobs table and the allocation chart every 5 s while any job is active.
(function () {
  "use strict";
  var table = document.getElementById("jobs");
  var chart = document.getElementById("chart");
  var note = document.getElementById("refresh");
  var ACTIVE = ["queued", "running", "stopping"];

  function cell(row, text, html) {
    var td = document.createElement("td");
    if (html) { td.appendChild(html); } else { td.textContent = text; }
    row.appendChild(td);
  }

  function render(data) {
    var body = table.tBodies[0];
    body.textContent = "";
    data.jobs.forEach(function (j) {
      var tr = document.createElement("tr");
      tr.dataset.job = j.name;
      cell(tr, j.name); cell(tr, j.model);
      var state = document.createElement("span");
      state.className = "state " + j.state; state.textContent = j.state;
      cell(tr, "", state);
      cell(tr, String(j.pus));
      var td = document.createElement("td");
      var bar = document.createElement("progress");
      bar.max = 1; bar.value = j.progress;
      td.appendChild(bar); td.appendChild(document.createTextNode(" " + j.epoch + "/" + j.epochs));
      tr.appendChild(td);
      cell(tr, j.accuracy === null ? "" : (j.accuracy * 100).toFixed(1) + " %");
      cell(tr, String(j.launches));
      body.appendChild(tr);
    });
    var message = document.getElementById("message");
    if (message && data.jobs.length) { message.remove(); }
    return data.jobs.some(function (j) { return ACTIVE.indexOf(j.state) >= 0; });
  }

  function tick() {
    Promise.all([
      fetch("/api/jobs").then(function (r) { return r.json(); }),
      fetch("/api/jobs/allocation.svg").then(function (r) { return r.text(); })
    ]).then(function (res) {
      var active = render(res[0]);
      chart.innerHTML = res[1];
      table.dataset.active = active ? "yes" : "no";
      note.textContent = active ? "Refreshing every 5 s while jobs run." : "";
      // Keep polling slowly when idle, so a newly submitted job shows up too.
      setTimeout(tick, active ? 5000 : 15000);
    }).catch(function () {
      note.textContent = "Lost contact with tessera ui; retrying.";
      setTimeout(tick, 10000);
    });
  }
  if (table) { setTimeout(tick, table.dataset.active === "yes" ? 5000 : 15000); }
})();
