// Live spectator pages. Every page is complete without this script; with it:
// - the leaderboard redraws rows in place from numbered websocket messages (a phone
//   that lost its connection reconnects with the last number it saw and gets only
//   what it missed);
// - the runner and announcer pages redraw themselves when their race changes;
// - ☆ follows a runner (kept in this browser's localStorage, no login); a followed
//   runner passing a mat shows a notice at once, and a browser notification when the
//   spectator allowed them (from this page's own websocket: no push service).
(() => {
  "use strict";
  const KEY = "retrotime.following";
  const board = document.getElementById("board");
  const status = document.getElementById("live-status");

  // ---- following ------------------------------------------------------------------
  const load = () => { try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; } };
  let followed = load();
  const save = () => { localStorage.setItem(KEY, JSON.stringify(followed)); showStars(); linkFollowing(); };

  function linkFollowing() {
    const link = document.getElementById("following-link");
    const bibs = Object.keys(followed);
    if (link) link.href = "/following" + (bibs.length ? "?bibs=" + bibs.map(encodeURIComponent).join(",") : "");
  }

  function showStars(root) {
    for (const star of (root || document).querySelectorAll(".star")) {
      const on = star.dataset.bib in followed;
      star.hidden = false;
      star.textContent = on ? "★" : "☆";
      star.setAttribute("aria-pressed", String(on));
    }
  }

  document.addEventListener("click", (event) => {
    const star = event.target.closest && event.target.closest(".star");
    if (!star) return;
    const bib = star.dataset.bib;
    if (bib in followed) delete followed[bib];
    else followed[bib] = { race: star.dataset.race, name: star.dataset.name };
    save();
    watchFollowed();
  });

  function notify(text) {
    const box = document.getElementById("notice");
    if (box) {
      box.textContent = text;
      box.hidden = false;
      clearTimeout(notify.timer);
      notify.timer = setTimeout(() => { box.hidden = true; }, 8000);
    }
    if ("Notification" in window && Notification.permission === "granted") {
      try { new Notification("RetroTime", { body: text, tag: "retrotime-" + text }); } catch (e) { /* some browsers only notify from a service worker */ }
    }
  }

  const seen = {};  // bib -> "point|finished" last known, so each passing is told once
  function checkFollowed(rows, quiet) {
    for (const row of rows) {
      const who = followed[row.bib];
      if (!who) continue;
      const mark = (row.last_point || "") + "|" + row.finished;
      if (!quiet && row.bib in seen && seen[row.bib] !== mark && row.last_point) {
        notify(row.finished
          ? `${row.name} (${row.bib}) finished in ${row.time}`
          : `${row.name} (${row.bib}) passed ${row.last_split || row.last_point} in ${row.time}`);
      }
      seen[row.bib] = mark;
    }
  }

  // ---- one websocket per race, shared by everything on the page ----------------------
  const feeds = {};
  function feed(race, seq, key) {
    key = key || race;
    if (feeds[key]) return feeds[key];
    const f = { race, seq: seq ?? null, listeners: [], delay: 500 };
    feeds[key] = f;
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const since = f.seq === null ? "" : "?since=" + f.seq;
      // Live updates come from the fan-out workers' port when the service has them.
      const port = document.body.dataset.livePort;
      const host = port ? `${location.hostname}:${port}` : location.host;
      const ws = new WebSocket(`${scheme}//${host}/ws/races/${encodeURIComponent(race)}${since}`);
      ws.onopen = () => { f.delay = 500; for (const l of f.listeners) l.open && l.open(); };
      ws.onmessage = (event) => {
        const m = JSON.parse(event.data);
        if (m.type === "snapshot") { f.seq = m.seq; for (const l of f.listeners) l.rows(m.rows, true, m); }
        else if (m.type === "update" && (f.seq === null || m.seq === f.seq + 1)) { f.seq = m.seq; for (const l of f.listeners) l.rows(m.rows, false, m); }
        else if (m.type === "update" && m.seq > f.seq + 1) ws.close();  // missed some: resume
      };
      ws.onclose = () => {
        for (const l of f.listeners) l.close && l.close();
        setTimeout(connect, f.delay);
        f.delay = Math.min(f.delay * 2, 10000);
      };
    };
    setTimeout(connect, 0);
    return f;
  }

  const watching = new Set();
  function watchFollowed() {
    for (const bib in followed) {
      const race = followed[bib].race;
      if (!race || watching.has(race)) continue;
      watching.add(race);
      // A feed of its own that starts from a snapshot: it knows where each runner was.
      feed(race, null, race + " following").listeners.push({ rows: (rows, snapshot) => checkFollowed(rows, snapshot) });
    }
  }

  // ---- the leaderboard -------------------------------------------------------------
  function boardPage() {
    const race = board.dataset.race;
    const category = board.dataset.category;
    const sex = board.dataset.sex;
    const phone = new Set(board.dataset.phone.split(" "));
    const labels = JSON.parse(board.dataset.labels || "{}");
    const body = board.tBodies[0];
    const heads = [...board.tHead.rows[0].cells].map((th) => [th.dataset.key, th.textContent]);
    const el = (tag, cls, text) => {
      const e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined && text !== null) e.textContent = text;
      return e;
    };
    const badge = (text) => el("span", "record", text);

    function nameCell(row) {
      const td = el("td", "c-name");
      const star = el("button", "star", "☆");
      Object.assign(star, { type: "button" });
      Object.assign(star.dataset, { bib: row.bib, race: row.race, name: row.name });
      star.setAttribute("aria-label", "Follow " + row.name);
      const link = el("a", "", row.name);
      link.href = "/athletes/" + encodeURIComponent(row.bib);
      td.append(star, link);
      if (row.bell) td.append(" ", el("span", "bell", "bell"));
      for (const s of row.on_record_pace || []) td.append(" ", badge(s + "-record pace"));
      const details = el("details", "more");
      details.append(el("summary", "", `Bib ${row.bib} · more`));
      const dl = el("dl");
      for (const [k, h] of heads) {
        const v = row[k];
        if (phone.has(k) || ["name", "bib", "place"].includes(k) || v === null || v === undefined || v === "") continue;
        dl.append(el("dt", "", h), el("dd", "", k === "status" ? labels[v] || v : v));
      }
      if (row.club) dl.append(el("dt", "", "Club"), el("dd", "", row.club));
      details.append(dl);
      td.append(details);
      return td;
    }

    function render(row) {
      const tr = el("tr");
      tr.id = "bib-" + row.bib;
      Object.assign(tr.dataset, { pos: row.pos, sex: row.sex, category: row.category, status: row.status });
      if (row.lapped) tr.classList.add("lapped");
      for (const [key] of heads) {
        if (key === "name") { tr.append(nameCell(row)); continue; }
        if (key === "projected") {
          const td = el("td", "wide", row.projected ?? "");
          for (const s of row.on_record_pace || []) td.append(" ", badge("on " + s + " record pace"));
          tr.append(td);
          continue;
        }
        if (key === "place") { tr.append(el("td", "c-place num", row.place || (row.status === "RUN" ? row.pos : ""))); continue; }
        let cls = phone.has(key) || key === "place" ? "c-" + key : "wide";
        if (key === "place") cls += " num";
        if (key === "time") cls += " time";
        tr.append(el("td", cls, row[key] ?? ""));
      }
      return tr;
    }

    // The board order of every runner in the race (filtered rows are kept out of the
    // table, not out of the order): an update moves only the runners in `moved`; the
    // others keep their order, and everyone's position is their index + 1.
    let order = board.dataset.order ? JSON.parse(board.dataset.order) : [...body.rows].map((tr) => tr.id.slice(4));
    const statusOf = {};
    function reorder(m) {
      const moved = new Map((m.moved || []).map(([bib, pos]) => [bib, pos]));
      const gone = new Set(m.gone || []);
      if (!moved.size && !gone.size) return false;
      order = order.filter((bib) => !moved.has(bib) && !gone.has(bib));
      for (const [bib, pos] of [...moved].sort((a, b) => a[1] - b[1])) order.splice(pos - 1, 0, bib);
      for (const bib of gone) document.getElementById("bib-" + bib)?.remove();
      return true;
    }

    function apply(rows, replace, m) {
      if (replace) { body.replaceChildren(); order = rows.map((row) => row.bib); }
      const moved = !replace && reorder(m);
      for (const row of rows) {
        statusOf[row.bib] = row.status;
        if ((category && row.category !== category) || (sex && row.sex !== sex)) continue;
        const old = document.getElementById("bib-" + row.bib);
        const tr = render(row);
        tr.classList.add("changed");
        if (old) old.replaceWith(tr); else body.appendChild(tr);
      }
      if (!replace && !moved && !rows.length) return;
      const trs = [];
      order.forEach((bib, i) => {
        const tr = document.getElementById("bib-" + bib);
        if (!tr) return;
        if (tr.dataset.pos !== String(i + 1)) {
          tr.dataset.pos = i + 1;
          // On course, the place column shows the position in the board.
          const cell = tr.querySelector(".c-place");
          if (cell && (statusOf[bib] ?? tr.dataset.status) === "RUN") cell.textContent = i + 1;
        }
        trs.push(tr);
      });
      if (trs.some((tr, i) => body.rows[i] !== tr)) body.append(...trs);
      showStars(body);
    }

    const f = feed(race, Number(board.dataset.seq || 0));
    f.listeners.unshift({
      open: () => { status.textContent = "Live: updates arrive as runners cross the mats."; },
      close: () => { status.textContent = "Connection lost: reconnecting…"; },
      rows: (rows, snapshot, m) => { apply(rows, snapshot, m); board.dataset.seq = f.seq; },
    });
  }

  // ---- pages that redraw from the server when their race changes ---------------------
  function redrawOn(holder, wanted, everyMs, race) {
    let busy = false, again = false;
    async function redraw() {
      if (busy) { again = true; return; }
      busy = true;
      try {
        // One address per update: a cache in front serves every phone the same render.
        const url = new URL(location.href);
        url.searchParams.set("seq", feeds[race]?.seq ?? "");
        const response = await fetch(url, { headers: { Accept: "text/html" } });
        if (response.ok) {
          const doc = new DOMParser().parseFromString(await response.text(), "text/html");
          const fresh = doc.getElementById(holder.id);
          if (fresh) { holder.replaceChildren(...fresh.childNodes); holder.dataset.drawn = String(Date.now()); showStars(holder); }
        }
      } catch (e) { /* offline for a moment: the next update tries again */ }
      busy = false;
      if (again) { again = false; redraw(); }
    }
    // From the update the page was drawn at: one that lands while the page connects counts.
    race = race || holder.dataset.race;
    const seqs = JSON.parse(holder.dataset.seqs || "{}");
    feed(race, Number(seqs[race] ?? holder.dataset.seq ?? 0)).listeners.push({
      rows: (rows, snapshot) => { if (!snapshot && rows.some(wanted)) redraw(); },
    });
    if (everyMs) setInterval(redraw, everyMs);
  }

  const runner = document.getElementById("runner");
  if (runner && "WebSocket" in window) redrawOn(runner, (row) => row.bib === runner.dataset.bib);
  const announcer = document.getElementById("announcer");
  if (announcer && "WebSocket" in window) redrawOn(announcer, () => true, 15000);  // times to the line count down

  // ---- the following page ----------------------------------------------------------
  const list = document.getElementById("following");
  if (list && !new URLSearchParams(location.search).has("bibs") && Object.keys(followed).length) {
    location.replace("/following?bibs=" + Object.keys(followed).map(encodeURIComponent).join(","));
  }
  if (list && "WebSocket" in window) {
    const bibs = new Set(list.dataset.bibs.split(","));
    for (const race of list.dataset.races.split(",").filter(Boolean)) {
      redrawOn(list, (row) => bibs.has(row.bib), 0, race);
    }
  }
  const allow = document.getElementById("allow-notify");
  if (allow && "Notification" in window && Notification.permission === "default") {
    allow.hidden = false;
    allow.addEventListener("click", () => Notification.requestPermission().then(() => { allow.hidden = true; }));
  }

  // A category is one tap: choosing it shows it (without the script, the Show button does).
  const filters = document.getElementById("board-filters");
  if (filters) {
    filters.querySelector(".go").hidden = true;
    filters.addEventListener("change", () => filters.submit());
  }

  // ---- a timed race's countdown ------------------------------------------------------
  const countdown = document.getElementById("countdown");
  if (countdown && Number(countdown.dataset.end)) {
    const end = Number(countdown.dataset.end);
    const tick = () => {
      const left = Math.max(0, end - Date.now());
      const s = Math.floor(left / 1000);
      countdown.textContent = left > 0
        ? `Time left: ${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`
        : "Time is up: laps after the horn do not count.";
    };
    tick();
    setInterval(tick, 1000);
  }

  showStars();
  linkFollowing();
  if ("WebSocket" in window) {
    if (board) boardPage();
    watchFollowed();
  }
})();
