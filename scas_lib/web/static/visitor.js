// The visitor's page: ask again while the video is not ready; "delete my data" after a
// confirmation, with the same deletion as `scas forget --everywhere`; "this was me" links
// an earlier visit offered to a visitor who asked to be remembered.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const content = $("content");
  const api = content.dataset.api;
  const state = content.dataset.state;

  if (state === "waiting" || state === "making") {
    setInterval(async () => {
      try {
        const response = await fetch(api, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const status = await response.json();
        if (status.state !== state) location.reload();
      } catch (error) { /* offline for a moment: ask again later */ }
    }, 20000);
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
      const video = $("video");
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
