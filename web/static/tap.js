// Tap to time: each tap posts the phone's clock; the service keeps its own time of the
// tap and the phone's offset to it. The list of taps reloads to show the new one.
(function () {
  "use strict";
  const button = document.getElementById("tap");
  const status = document.getElementById("tap-status");
  const token = document.querySelector("meta[name=csrf-token]").content;
  button.addEventListener("click", async function () {
    const bib = document.getElementById("tap-bib").value.trim();
    const body = { point: document.getElementById("tap-point").value, phone_ms: Date.now() };
    if (bib) body.bib = bib;
    try {
      const response = await fetch("/api/director/tap", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrftoken": token },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      status.textContent = response.ok ? answer.summary : (answer.detail || "refused");
      if (response.ok) window.location.reload();
    } catch (error) {
      status.textContent = "not recorded: " + error;
    }
  });
})();
