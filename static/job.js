// Job page: poll GET /api/jobs/{id} and show progress; when done, show the result.
(function () {
  "use strict";
  const root = document.getElementById("job");
  let job = JSON.parse(root.dataset.job);
  const pollMs = Number(root.dataset.pollMs) || 500;
  const $ = function (id) { return document.getElementById(id); };
  const STAGES = { queued: "Waiting in the queue", starting: "Starting", analysing: "Finding faces",
    rendering: "Hiding faces and encoding", succeeded: "Done", failed: "Failed", cancelled: "Cancelled" };
  let shownDone = false;

  function duration(s) {
    if (s === null || s === undefined) return "–";
    s = Math.round(s);
    return s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
  }

  function render() {
    const pct = Math.round((job.state === "succeeded" ? 1 : job.progress) * 100);
    $("state").textContent = job.state;
    $("state").className = "badge badge-" + job.state;
    $("stage").textContent = STAGES[job.stage] || job.stage;
    $("fill").style.width = pct + "%";
    $("bar").setAttribute("aria-valuenow", String(pct));
    $("percent").textContent = pct + "%";
    $("frames").textContent = job.frames_total ? job.frames_done + " / " + job.frames_total : "–";
    $("fps").textContent = job.fps ? job.fps.toFixed(1) + " fps" : "–";
    $("eta").textContent = job.state === "running" ? duration(job.eta_s) : (job.state === "succeeded" ? "0 s" : "–");
    const active = job.state === "queued" || job.state === "running";
    $("cancel").hidden = !active;
    if (job.state === "failed") { $("error").textContent = job.error; $("error").hidden = false; }
    if (job.state === "cancelled") { $("error").textContent = "This job was cancelled and its files were deleted."; $("error").hidden = false; }
    if (job.state === "succeeded" && !shownDone) {
      shownDone = true;
      $("player").src = job.urls.result;
      $("download").href = job.urls.result + "?download=1";
      $("report").href = job.urls.report;
      if (job.has_stills) {
        $("before").src = job.urls.before;
        $("after").src = job.urls.after;
        $("stills").hidden = false;
      }
      $("done").hidden = false;
    }
  }

  function poll() {
    fetch(job.urls.status, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (body) { job = body; render(); if (job.state === "queued" || job.state === "running") setTimeout(poll, pollMs); })
      .catch(function () { setTimeout(poll, pollMs * 4); });
  }

  function remove(button, question) {
    if (question && !window.confirm(question)) return;
    button.disabled = true;
    fetch(job.urls.status, { method: "DELETE" }).then(function () {
      if (button.id === "delete") { window.location.assign("/"); } else { poll(); }
    });
  }
  $("cancel").addEventListener("click", function () { remove($("cancel"), null); });
  $("delete").addEventListener("click", function () { remove($("delete"), "Delete the result and the upload now?"); });

  render();
  if (job.state === "queued" || job.state === "running") setTimeout(poll, pollMs);
})();
