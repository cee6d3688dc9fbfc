// Callscope dashboard: the little behaviour pages need beyond HTML. Every page works
// without it; this adds the player's link to the transcript and the live page's updates.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const player = document.getElementById("player");
  if (player) followTranscript(player);
  const live = document.querySelector("[data-stream]");
  if (live) followLive(live);
});

/// Replaces the live calls with each fragment the server streams. The fragments are the
/// server's own escaped rendering of the page's section. EventSource reconnects by itself
/// after a dropped connection; a stream the server ended (signed out) is not reopened.
function followLive(container) {
  const status = document.getElementById("live-status");
  const source = new EventSource(container.dataset.stream);
  source.addEventListener("calls", (event) => {
    container.innerHTML = event.data;
    if (status) status.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED && status) {
      status.textContent = "Live updates stopped; reload the page to resume.";
    }
  });
}

/// Clicking a turn's time seeks the recording there and plays; while it plays, the turn
/// being spoken is marked (aria-current) and kept in view.
function followTranscript(player) {
  const turns = Array.from(document.querySelectorAll(".turn[data-start]"));
  document.querySelectorAll("button[data-seek]").forEach((button) => {
    button.addEventListener("click", () => {
      player.currentTime = Number(button.dataset.seek) / 1000;
      const playing = player.play();
      if (playing && playing.catch) playing.catch(() => {});
    });
  });
  let current = null;
  player.addEventListener("timeupdate", () => {
    const ms = player.currentTime * 1000;
    const spoken = turns.find((turn) => {
      const start = Number(turn.dataset.start);
      const end = turn.dataset.end ? Number(turn.dataset.end) : start;
      return ms >= start && ms < end;
    }) || null;
    if (spoken === current) return;
    if (current) current.removeAttribute("aria-current");
    if (spoken) {
      spoken.setAttribute("aria-current", "true");
      if (!player.paused) spoken.scrollIntoView({ block: "nearest" });
    }
    current = spoken;
  });
  document.querySelectorAll(".channels button[data-src]").forEach((button, _, all) => {
    button.addEventListener("click", () => {
      const at = player.currentTime;
      const wasPlaying = !player.paused;
      player.src = button.dataset.src;
      player.addEventListener("loadedmetadata", () => {
        player.currentTime = at;
        if (wasPlaying) player.play().catch(() => {});
      }, { once: true });
      all.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
    });
  });
}
