// Plays a scene in the page's one <video>: from the scene's start, pausing at its end.
// Every .card with data-src/data-start/data-end is a scene; a click or Enter plays it.
(function () {
  "use strict";
  var video = document.getElementById("player");
  var box = document.getElementById("player-box");
  var label = document.getElementById("player-label");
  if (!video) { return; }
  var scene = null;  // {start, end, text} of the scene being played

  function clock(s) {
    s = Math.max(0, Math.floor(s));
    var m = Math.floor(s / 60), r = s % 60;
    return m + ":" + (r < 10 ? "0" : "") + r;
  }

  function show(text, isError) {
    label.textContent = text;
    label.className = isError ? "now error" : "now";
  }

  function play(card) {
    document.querySelectorAll(".card.playing").forEach(function (c) { c.classList.remove("playing"); });
    box.hidden = false;
    if (card.dataset.available === "no") {
      video.removeAttribute("src");
      video.load();
      show("Cannot play " + card.dataset.label + ": the video file has moved or been deleted since ingest.", true);
      return;
    }
    card.classList.add("playing");
    scene = {start: parseFloat(card.dataset.start), end: parseFloat(card.dataset.end), text: card.dataset.label};
    var src = new URL(card.dataset.src, location.href).href;
    var start = function () {
      video.currentTime = scene.start;
      var p = video.play();
      if (p && p.catch) {
        p.catch(function (e) {
          // AbortError: a pause (the user's, or the scene's end) came first; nothing to say.
          if (e.name !== "AbortError") { show("Press play to start (" + e.message + ")", true); }
        });
      }
    };
    show("Playing " + scene.text);
    if (video.currentSrc !== src && video.src !== src) {
      video.src = src;
      while (video.firstChild) { video.removeChild(video.firstChild); }
      var track = document.createElement("track");
      track.kind = "subtitles"; track.label = "speech"; track.srclang = "en";
      track.src = card.dataset.subtitles;
      video.appendChild(track);
      video.addEventListener("loadedmetadata", start, {once: true});
    } else {
      start();
    }
    box.scrollIntoView({block: "nearest"});
  }

  video.addEventListener("timeupdate", function () {
    // Stop once at the scene's end; playing on past it (the user pressed play) is allowed.
    if (scene && video.currentTime >= scene.end - 0.05) {
      video.pause();
      show("End of " + scene.text + " (" + clock(scene.end) + ")");
      scene = null;
    }
  });
  video.addEventListener("error", function () {
    if (video.error) { show("The video could not be played (" + (video.error.message || "error " + video.error.code) + ").", true); }
  });

  document.querySelectorAll(".card[data-src]").forEach(function (card) {
    card.addEventListener("click", function (ev) {
      if (ev.target.closest("a")) { return; }  // links keep their own meaning
      play(card);
    });
    card.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); play(card); }
    });
  });

  // /videos/<id>#scene-3 starts that scene once the page is open (needs a click to play
  // with sound in most browsers, so it is selected, not played).
  var hash = location.hash.match(/^#scene-(\d+)$/);
  if (hash) {
    var card = document.getElementById("scene-" + hash[1]);
    if (card) { card.classList.add("playing"); card.focus(); }
  }
})();
