// The entrance kiosk: camera preview and capture (or a file), name, consent, send; then
// the QR code of the visitor's page, and back to the start for the next visitor.
// Every text comes from the page's config (scas_lib/web/texts.py), in zh and en.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("kiosk-config").textContent);
  const $ = (id) => document.getElementById(id);
  const preview = $("preview"), snapshot = $("snapshot"), canvas = $("canvas");
  const message = $("message"), form = $("form");
  let language = pickLanguage();
  let photo = null;        // the Blob to send
  let snapshotUrl = null;  // its object URL, revoked when replaced
  let resetTimer = null, idleTimer = null, countdownTimer = null;
  let busy = false;

  function pickLanguage() {
    const wanted = new URLSearchParams(location.search).get("lang") || navigator.language || "";
    const base = wanted.toLowerCase().split("-")[0];
    return config.languages.includes(base) ? base : config.languages[0];
  }

  function text(name) { return config.texts[language][name] || name; }

  function applyLanguage() {
    document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-text]").forEach((el) => { el.textContent = text(el.dataset.text); });
    document.querySelectorAll("[data-lang]").forEach((el) => {
      el.classList.toggle("active", el.dataset.lang === language);
    });
    $("consent-text").textContent = config.consentTexts[language];
    if (message.dataset.code) showMessage(message.dataset.code);
  }

  function showMessage(code, extra) {
    message.dataset.code = code || "";
    message.textContent = code ? (text("error_" + code) + (extra || "")) : "";
    message.classList.toggle("error", !!code && code !== "working");
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return noCamera();
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false,
      });
      preview.srcObject = stream;
      await preview.play().catch(() => {});
      $("no-camera").hidden = true;
    } catch (error) {
      noCamera();
    }
  }

  function noCamera() {
    preview.hidden = true;
    $("capture").hidden = true;
    $("no-camera").hidden = false;
  }

  function showPhoto(blob) {
    photo = blob;
    if (snapshotUrl) URL.revokeObjectURL(snapshotUrl);
    snapshotUrl = URL.createObjectURL(blob);
    snapshot.src = snapshotUrl;
    snapshot.hidden = false;
    preview.hidden = true;
    $("capture").hidden = true;
    $("retake").hidden = !preview.srcObject;
    showMessage("");
    touch();
  }

  function retake() {
    photo = null;
    snapshot.hidden = true;
    snapshot.removeAttribute("src");
    $("file").value = "";
    if (preview.srcObject) {
      preview.hidden = false;
      $("capture").hidden = false;
    }
    $("retake").hidden = true;
  }

  function capture() {
    if (!preview.videoWidth) return;
    canvas.width = preview.videoWidth;
    canvas.height = preview.videoHeight;
    canvas.getContext("2d").drawImage(preview, 0, 0);
    canvas.toBlob((blob) => blob && showPhoto(blob), "image/jpeg", 0.92);
  }

  async function submit(event) {
    event.preventDefault();
    if (busy) return;
    if (!photo) return showMessage("photo_missing");
    if (!$("name").value.trim()) return showMessage("name_missing");
    if (!$("consent").checked) return showMessage("consent_missing");
    busy = true;
    $("submit").disabled = true;
    message.classList.remove("error");
    message.dataset.code = "";
    message.textContent = text("working");
    const body = new FormData();
    body.append("photo", photo, "photo.jpg");
    body.append("name", $("name").value);
    body.append("language", language);
    body.append("consent", "true");
    // The second, separate consent: off unless the visitor ticks it.
    body.append("remember", $("remember").checked ? "true" : "false");
    body.append("consent_version", config.consentVersion);
    try {
      const response = await fetch(config.enrollUrl, {
        method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({ code: "unavailable" }));
      if (response.ok) return done(answer);
      const known = ("error_" + answer.code) in config.texts[language];
      showMessage(known ? answer.code : "unavailable");
      if (answer.code === "consent_changed") setTimeout(() => location.reload(), 4000);
      if (answer.code === "kiosk_not_paired") setTimeout(() => location.reload(), 10000);
      if (!["name_missing", "invalid_name", "consent_missing", "rate_limited"].includes(answer.code)) {
        retake();  // a photo refusal: take it again, the name and the tick stay
      }
    } catch (error) {
      showMessage("unavailable");
    } finally {
      busy = false;
      $("submit").disabled = false;
    }
  }

  function done(answer) {
    $("enroll-step").hidden = true;
    $("done-step").hidden = false;
    $("done-name").textContent = answer.display_name;
    $("qr").src = answer.qr_svg;
    $("qr").dataset.url = answer.page_url;
    $("short-url").textContent = answer.short_url;
    $("short-code").textContent = answer.short_code;
    let left = config.resetAfterS;
    $("countdown").textContent = left + " s";
    countdownTimer = setInterval(() => { left -= 1; $("countdown").textContent = left + " s"; }, 1000);
    resetTimer = setTimeout(reset, config.resetAfterS * 1000);
  }

  // Back to the start, forgetting everything about the last visitor.
  function reset() {
    clearTimeout(resetTimer);
    clearInterval(countdownTimer);
    $("done-step").hidden = true;
    $("enroll-step").hidden = false;
    $("qr").removeAttribute("src");
    $("qr").dataset.url = "";
    $("short-code").textContent = "";
    $("done-name").textContent = "";
    form.reset();
    showMessage("");
    retake();
    language = pickLanguage();
    applyLanguage();
  }

  // A half-filled form left alone is cleared, so the next visitor never sees it.
  function touch() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => { if ($("done-step").hidden) reset(); }, 120000);
  }

  document.querySelectorAll("[data-lang]").forEach((el) => el.addEventListener("click", () => {
    language = el.dataset.lang;
    applyLanguage();
    touch();
  }));
  $("capture").addEventListener("click", capture);
  $("retake").addEventListener("click", retake);
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) showPhoto(file);
  });
  $("next").addEventListener("click", reset);
  form.addEventListener("submit", submit);
  form.addEventListener("input", touch);
  applyLanguage();
  startCamera();
})();
