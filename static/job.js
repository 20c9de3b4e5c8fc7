// Job page: poll GET /api/jobs/{id} and show progress; in review, show one card per person
// with Blur/Keep choices and a Render button; when done, show the result.
(function () {
  "use strict";
  const root = document.getElementById("job");
  let job = JSON.parse(root.dataset.job);
  const pollMs = Number(root.dataset.pollMs) || 500;
  const $ = function (id) { return document.getElementById(id); };
  const STAGES = { queued: "Waiting in the queue", starting: "Starting", analysing: "Finding faces",
    rendering: "Hiding faces and encoding", review: "Waiting for your review",
    succeeded: "Done", failed: "Failed", cancelled: "Cancelled" };
  let shownDone = false;
  let shownReview = false;

  function isActive(state) { return state === "queued" || state === "running"; }

  function duration(s) {
    if (s === null || s === undefined) return "–";
    s = Math.round(s);
    return s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
  }

  function render() {
    const pct = Math.round((job.state === "succeeded" ? 1 : job.progress) * 100);
    $("progress-block").hidden = job.state === "review";
    $("state").textContent = job.state;
    $("state").className = "badge badge-" + job.state;
    $("stage").textContent = STAGES[job.stage] || job.stage;
    $("fill").style.width = pct + "%";
    $("bar").setAttribute("aria-valuenow", String(pct));
    $("percent").textContent = pct + "%";
    $("frames").textContent = job.frames_total ? job.frames_done + " / " + job.frames_total : "–";
    $("fps").textContent = job.fps ? job.fps.toFixed(1) + " fps" : "–";
    $("eta").textContent = job.state === "running" ? duration(job.eta_s) : (job.state === "succeeded" ? "0 s" : "–");
    const active = isActive(job.state);
    $("cancel").hidden = !active;
    if (job.state === "review" && !shownReview) { shownReview = true; loadPeople(); }
    if (job.state !== "review") { $("review").hidden = true; shownReview = false; }
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
      .then(function (body) { job = body; render(); if (isActive(job.state)) setTimeout(poll, pollMs); })
      .catch(function () { setTimeout(poll, pollMs * 4); });
  }

  function remove(button, question) {
    if (question && !window.confirm(question)) return;
    button.disabled = true;
    fetch(job.urls.status, { method: "DELETE" }).then(function () {
      if (button.id === "cancel") { poll(); } else { window.location.assign("/"); }
    });
  }
  // ---- review ---------------------------------------------------------------------------
  function clock(s) {
    s = Math.max(0, Math.round(s));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function span(range) { return clock(range[0]) === clock(range[1]) ? clock(range[0]) : clock(range[0]) + "–" + clock(range[1]); }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function setToggle(toggle, blur) {
    toggle.querySelectorAll("button").forEach(function (b) {
      const on = (b.dataset.blur === "true") === blur;
      b.classList.toggle("on", on);
      b.setAttribute("aria-pressed", String(on));
    });
  }

  function choose(url, blur, buttons) {
    buttons.forEach(function (b) { b.disabled = true; });
    $("review-error").hidden = true;
    fetch(url, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ blur: blur }) })
      .then(function (r) { return r.json().then(function (body) { return r.ok ? body : Promise.reject(body); }); })
      .then(function (body) { showPeople(body.people); })
      .catch(function (body) {
        $("review-error").textContent = (body && body.detail) || "The choice could not be saved; try again.";
        $("review-error").hidden = false;
        buttons.forEach(function (b) { b.disabled = false; });
      });
  }

  function personCard(person) {
    const node = $("person-template").content.firstElementChild.cloneNode(true);
    node.dataset.key = person.key;
    node.classList.toggle("is-kept", !person.blur);
    const thumbs = node.querySelector(".person-thumbs");
    person.thumbnails.forEach(function (url) {
      const img = document.createElement("img");
      img.src = url; img.alt = "Face of person " + person.number; img.width = 72; img.height = 72;
      thumbs.appendChild(img);
    });
    if (!person.thumbnails.length) {
      const none = document.createElement("span");
      none.className = "no-thumb"; none.textContent = "No clear view";
      thumbs.appendChild(none);
    }
    node.querySelector(".person-name").textContent = "Person " + person.number;
    node.querySelector(".person-when").textContent = "On screen " + person.appearances_s.map(span).join(", ")
      + " · " + plural(person.frames, "frame");
    const reason = node.querySelector(".person-reason");
    reason.textContent = (person.blur ? "Blurred: " : "Visible: ") + person.reasons.join("; ");
    reason.classList.toggle("kept", !person.blur);
    const toggle = node.querySelector(".toggle");
    toggle.setAttribute("aria-label", "Blur or keep person " + person.number);
    setToggle(toggle, person.blur);
    const buttons = Array.prototype.slice.call(node.querySelectorAll("button"));
    toggle.querySelectorAll("button").forEach(function (b) {
      b.addEventListener("click", function () {
        choose(job.urls.people + "/" + encodeURIComponent(person.key), b.dataset.blur === "true", buttons);
      });
    });
    node.querySelector(".person-tracks summary").textContent = plural(person.tracks.length, "appearance");
    const list = node.querySelector(".person-tracks ul");
    person.tracks.forEach(function (track) {
      const li = document.createElement("li");
      li.dataset.track = String(track.track_id);
      const text = document.createElement("span");
      text.className = "track-text";
      text.textContent = span([track.start_s, track.end_s]) + " · " + plural(track.frames, "frame") + " · " + track.reason;
      const t = document.createElement("div");
      t.className = "toggle small"; t.setAttribute("role", "group");
      t.setAttribute("aria-label", "Blur or keep this appearance");
      [["true", "Blur"], ["false", "Keep"]].forEach(function (pair) {
        const b = document.createElement("button");
        b.type = "button"; b.dataset.blur = pair[0]; b.textContent = pair[1];
        b.addEventListener("click", function () {
          choose(job.urls.status + "/tracks/" + track.track_id, pair[0] === "true", buttons);
        });
        buttons.push(b);
        t.appendChild(b);
      });
      setToggle(t, track.blur);
      li.appendChild(text); li.appendChild(t);
      list.appendChild(li);
    });
    return node;
  }

  function showPeople(people) {
    const box = $("people");
    const open = {};
    box.querySelectorAll(".person").forEach(function (n) { open[n.dataset.key] = n.querySelector("details").open; });
    box.textContent = "";
    people.forEach(function (person) {
      const card = personCard(person);
      card.querySelector("details").open = !!open[person.key];
      box.appendChild(card);
    });
    const hidden = people.filter(function (p) { return p.blur; }).length;
    $("review-summary").textContent = people.length
      ? (people.length === 1 ? "1 person" : people.length + " people") + " found · " + hidden + " blurred, " + (people.length - hidden) + " visible"
      : "No faces were found in this video.";
    $("review").hidden = false;
  }

  function loadPeople() {
    fetch(job.urls.people, { cache: "no-store" })
      .then(function (r) { return r.json().then(function (body) { return r.ok ? body : Promise.reject(body); }); })
      .then(function (body) { showPeople(body.people); $("render").disabled = false; })
      .catch(function (body) {
        $("review-error").textContent = (body && body.detail) || "The people could not be loaded; reload the page.";
        $("review-error").hidden = false; $("review").hidden = false;
      });
  }

  $("render").addEventListener("click", function () {
    $("render").disabled = true;
    fetch(job.urls.render, { method: "POST" })
      .then(function (r) { return r.json().then(function (body) { return r.ok ? body : Promise.reject(body); }); })
      .then(function (body) { job = body; render(); setTimeout(poll, pollMs); })
      .catch(function (body) {
        $("review-error").textContent = (body && body.detail) || "The render could not start; try again.";
        $("review-error").hidden = false; $("render").disabled = false;
      });
  });

  $("cancel").addEventListener("click", function () { remove($("cancel"), null); });
  $("discard").addEventListener("click", function () { remove($("discard"), "Delete this video and its analysis now?"); });
  $("delete").addEventListener("click", function () { remove($("delete"), "Delete the result and the upload now?"); });

  render();
  if (isActive(job.state)) setTimeout(poll, pollMs);
})();
