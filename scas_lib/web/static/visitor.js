// The visitor's page: while the video is not ready, ask again and show how far the event's
// footage is looked at (a new state reloads the page); "share" hands the video itself to
// the phone's share sheet (the page's address is the visitor's credential: it is never
// shared), and downloads it where the browser cannot share a file; a moment's thumbnail
// plays the video from there; "delete my data" after a confirmation, with the same
// deletion as `scas forget --everywhere`; "this was me" links an earlier visit offered to
// a visitor who asked to be remembered.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const content = $("content");
  const api = content.dataset.api;
  const state = content.dataset.state;
  const step = content.dataset.step;
  const t = JSON.parse($("visitor-texts").textContent);

  function showProgress(progress) {
    const text = $("progress-text");
    if (!text || !progress || !progress.arrived) return;
    text.textContent = t.progress_segments
      .replace("{recognized}", progress.recognized).replace("{arrived}", progress.arrived);
    text.hidden = false;
    const bar = $("progress");
    if (bar) { bar.max = progress.arrived; bar.value = progress.recognized; }
  }

  async function poll() {
    try {
      const response = await fetch(api + location.search, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const status = await response.json();
      if (status.state !== state || (status.making_step || "") !== step) location.reload();
      else if (status.making_step !== "rendering") showProgress(status.progress);
    } catch (error) { /* offline for a moment: ask again later */ }
  }
  if (state === "waiting" || state === "making") {
    setInterval(poll, 20000);
    window.scasVisitorPoll = poll;  // the browser tests ask at once instead of waiting
  }

  const message = $("share-message");
  function say(text) { message.textContent = text; message.hidden = !text; }

  const share = $("share");
  if (share) {
    // Web Share with files (phones); elsewhere (a desktop browser, an old phone) the
    // download is what is left to do with the video.
    const sharesFiles = typeof navigator.share === "function"
      && typeof navigator.canShare === "function";
    let file = null;
    function downloadInstead() {
      say(t.share_downloading);
      $("download").click();
    }
    share.addEventListener("click", async () => {
      if (!sharesFiles) { downloadInstead(); return; }
      try {
        if (!file) {
          say(t.share_preparing);
          const response = await fetch(share.dataset.video);
          if (!response.ok) throw new Error(String(response.status));
          file = new File([await response.blob()], share.dataset.filename, { type: "video/mp4" });
        }
        if (!navigator.canShare({ files: [file] })) { downloadInstead(); return; }
        await navigator.share({ files: [file], title: share.dataset.title });
        say("");
      } catch (error) {
        if (error.name === "AbortError") { say(""); return; }  // the share sheet was closed
        // Fetching the video can outlast the tap's permission to open the share sheet:
        // the file is there now, a second tap shares it.
        if (error.name === "NotAllowedError" && file) { say(t.share_again); return; }
        downloadInstead();
      }
    });
  }

  const video = $("video");
  for (const moment of document.querySelectorAll(".moment")) {
    moment.addEventListener("click", () => {
      if (!video) return;
      video.currentTime = Number(moment.dataset.start);
      video.play().catch(() => { /* the browser wants the visitor to press play */ });
      video.scrollIntoView({ behavior: "smooth", block: "start" });
    });
  }

  for (const button of document.querySelectorAll(".accept-visit")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const response = await fetch(
          api + "/visits/" + encodeURIComponent(button.dataset.event) + location.search,
          { method: "POST", headers: { Accept: "application/json" } },
        );
        const answer = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(answer.message || response.status);
        location.reload();
      } catch (error) {
        $("message").textContent = String(error.message || error);
        $("message").classList.add("error");
        button.disabled = false;
      }
    });
  }

  $("delete").addEventListener("click", () => {
    $("confirm").hidden = false;
    $("delete").hidden = true;
  });
  $("cancel").addEventListener("click", () => {
    $("confirm").hidden = true;
    $("delete").hidden = false;
  });
  $("confirm-delete").addEventListener("click", async () => {
    $("confirm-delete").disabled = true;
    try {
      const response = await fetch(api + location.search, {
        method: "DELETE", headers: { Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(answer.message || response.status);
      if (video) { video.pause(); video.removeAttribute("src"); video.load(); }
      content.remove();
      $("deleted").hidden = false;
    } catch (error) {
      $("message").textContent = String(error.message || error);
      $("message").classList.add("error");
      $("confirm-delete").disabled = false;
    }
  });
})();
