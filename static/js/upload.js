// Upload with a progress bar: sends the form with XMLHttpRequest (which reports upload progress), then
// goes to the page of the job that loads the file (the load's own progress, then the report). Without
// JavaScript the form posts normally and the server redirects to the same page.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading…";
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((e.loaded / e.total) * 100);
        status.textContent = "Uploading… " + bar.value + "%";
        if (e.loaded === e.total) status.textContent = "Uploaded; queuing the load…";
      }
    });
    xhr.addEventListener("load", function () {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status === 202 && body.job_url) {
        window.location.assign(body.job_url);
        return;
      }
      bar.hidden = true;
      let message = body.detail || "The upload failed (HTTP " + xhr.status + ").";
      if (body.errors) {
        message = Object.entries(body.errors).map(([field, errs]) => field + ": " + errs.map((e) => e.message).join(" ")).join("; ");
      }
      status.textContent = message;
      status.className = "alert error";
    });
    xhr.addEventListener("error", function () {
      bar.hidden = true;
      status.textContent = "The connection failed during the upload.";
      status.className = "alert error";
    });
    xhr.send(new FormData(form));
  });
})();
