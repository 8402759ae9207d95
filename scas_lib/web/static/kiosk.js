// The entrance kiosk: camera preview with a face guide, a countdown and the photo (or a
// file), name, consent, send, and what is being checked while the server answers; then
// the QR code of the visitor's page and what comes next, and back to the start.
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
  let shutterTimer = null, checkingTimer = null;
  let busy = false;
  // The steps shown while the server checks, in the order it checks; the kiosk paces
  // them (one request answers everything) and stays on the last until the answer.
  const CHECKING_STEPS = ["checking_face", "checking_quality", "checking_page"];
  const CHECKING_STEP_MS = 1500;

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
    message.classList.toggle("error", !!code);
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
      if (!photo) $("face-guide").hidden = false;
    } catch (error) {
      noCamera();
    }
  }

  function noCamera() {
    preview.hidden = true;
    $("capture").hidden = true;
    $("face-guide").hidden = true;
    $("no-camera").hidden = false;
  }

  function showPhoto(blob) {
    stopShutter();  // a file chosen during the countdown wins over the camera
    photo = blob;
    if (snapshotUrl) URL.revokeObjectURL(snapshotUrl);
    snapshotUrl = URL.createObjectURL(blob);
    snapshot.src = snapshotUrl;
    snapshot.hidden = false;
    preview.hidden = true;
    $("face-guide").hidden = true;
    $("capture").hidden = true;
    $("retake").hidden = !preview.srcObject;
    showMessage("");
    touch();
  }

  function retake() {
    stopShutter();
    photo = null;
    snapshot.hidden = true;
    snapshot.removeAttribute("src");
    $("file").value = "";
    if (preview.srcObject) {
      preview.hidden = false;
      $("capture").hidden = false;
      $("face-guide").hidden = false;
    }
    $("retake").hidden = true;
  }

  // 3, 2, 1, then the photo: time to look up; the button waits meanwhile.
  function countdown() {
    if (!preview.videoWidth || shutterTimer) return;
    const count = $("shutter-count");
    let left = config.countdownS;
    $("capture").disabled = true;
    $("shutter").hidden = false;
    const tick = () => {
      if (left === 0) {
        stopShutter();
        capture();
        return;
      }
      count.textContent = String(left);
      count.classList.remove("tick");
      void count.offsetWidth;  // restarts the number's animation
      count.classList.add("tick");
      left -= 1;
      shutterTimer = setTimeout(tick, 1000);
    };
    tick();
    touch();
  }

  function stopShutter() {
    clearTimeout(shutterTimer);
    shutterTimer = null;
    $("shutter").hidden = true;
    $("shutter-count").textContent = "";
    $("capture").disabled = false;
  }

  function showChecking(on) {
    clearInterval(checkingTimer);
    $("checking").hidden = !on;
    if (!on) return;
    let step = 0;
    const show = () => { $("checking-step").textContent = text(CHECKING_STEPS[step]); };
    show();
    checkingTimer = setInterval(() => {
      step = Math.min(step + 1, CHECKING_STEPS.length - 1);
      show();
    }, CHECKING_STEP_MS);
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
    showMessage("");
    showChecking(true);
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
      showChecking(false);
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
    // The bar empties over the seconds left (scas.css, .reset-bar).
    $("reset-bar").style.animationDuration = config.resetAfterS + "s";
    $("reset-bar").classList.add("running");
    countdownTimer = setInterval(() => { left -= 1; $("countdown").textContent = left + " s"; }, 1000);
    resetTimer = setTimeout(reset, config.resetAfterS * 1000);
  }

  // Back to the start, forgetting everything about the last visitor.
  function reset() {
    clearTimeout(resetTimer);
    clearInterval(countdownTimer);
    $("reset-bar").classList.remove("running");
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
  $("capture").addEventListener("click", countdown);
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
