// Upload page: drag and drop, size check, XMLHttpRequest upload with progress.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  const input = document.getElementById("file");
  const zone = document.getElementById("dropzone");
  const title = document.getElementById("dz-title");
  const errorBox = document.getElementById("upload-error");
  const progress = document.getElementById("upload-progress");
  const fill = document.getElementById("upload-fill");
  const text = document.getElementById("upload-text");
  const submit = document.getElementById("submit");
  const maxBytes = Number(form.dataset.maxBytes);
  const references = document.getElementById("references");
  const photos = document.getElementById("reference");

  function mode() { return form.querySelector("input[name=mode]:checked").value; }
  function modeChanged() { references.hidden = mode() === "all"; photos.required = mode() !== "all"; }
  form.querySelectorAll("input[name=mode]").forEach(function (radio) { radio.addEventListener("change", modeChanged); });
  modeChanged();

  function mb(bytes) { return (bytes / 1024 / 1024).toFixed(1) + " MB"; }
  function showError(sentence) { errorBox.textContent = sentence; errorBox.hidden = false; }
  function chosen() {
    const file = input.files[0];
    errorBox.hidden = true;
    title.textContent = file ? file.name + " (" + mb(file.size) + ")" : "Drop a video here or choose a file";
  }
  input.addEventListener("change", chosen);
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragover"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("dragover"); });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      chosen();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const file = input.files[0];
    if (!file) { showError("Choose a video file first."); return; }
    if (file.size > maxBytes) { showError("The file is larger than the limit of " + mb(maxBytes) + "."); return; }
    if (mode() !== "all" && !photos.files.length) { showError("Add at least one reference photo showing the person's face."); return; }
    const body = new FormData(form);
    if (mode() === "all") body.delete("reference");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.responseType = "json";
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      const pct = Math.round((e.loaded / e.total) * 100);
      fill.style.width = pct + "%";
      text.textContent = "Uploading… " + pct + "% of " + mb(e.total);
    };
    xhr.upload.onload = function () { text.textContent = "Checking the video…"; };
    xhr.onload = function () {
      const body = xhr.response || {};
      if (xhr.status === 202 && body.urls) { window.location.assign(body.urls.page); return; }
      progress.hidden = true; submit.disabled = false;
      showError(body.detail || "The upload failed (HTTP " + xhr.status + ").");
    };
    xhr.onerror = function () {
      progress.hidden = true; submit.disabled = false;
      showError("The upload was interrupted; check your connection and try again.");
    };
    errorBox.hidden = true; progress.hidden = false; submit.disabled = true;
    fill.style.width = "0%";
    xhr.send(body);
  });
})();
