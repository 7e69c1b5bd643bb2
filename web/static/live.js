// Live leaderboard: the page is complete without this script; with it, rows update
// in place from numbered websocket messages. A phone that lost its connection
// reconnects with the last number it saw and gets only what it missed.
(() => {
  const table = document.getElementById("board");
  if (!table || !("WebSocket" in window)) return;
  const race = table.dataset.race;
  const category = table.dataset.category;
  const status = document.getElementById("live-status");
  const body = table.tBodies[0];
  let seq = Number(table.dataset.seq || 0);
  let delay = 500;

  const cell = (text) => { const td = document.createElement("td"); td.textContent = text ?? ""; return td; };

  const keys = [...table.tHead.rows[0].cells].map((th) => th.dataset.key);

  function render(row) {
    const tr = document.createElement("tr");
    tr.id = "bib-" + row.bib;
    tr.dataset.pos = row.pos;
    if (row.lapped) tr.classList.add("lapped");
    for (const key of keys) {
      const td = cell(key === "name" || key === "projected" ? "" : row[key]);
      if (key === "name") {
        const link = document.createElement("a");
        link.href = "/athletes/" + encodeURIComponent(row.bib);
        link.textContent = row.name;
        td.appendChild(link);
        if (row.bell) {
          const bell = document.createElement("span");
          bell.className = "bell";
          bell.textContent = " bell";
          td.appendChild(bell);
        }
      } else if (key === "projected") {
        td.textContent = row.projected ?? "";
        for (const scope of row.on_record_pace || []) {
          const mark = document.createElement("span");
          mark.className = "record";
          mark.textContent = " on " + scope + " record pace";
          td.appendChild(mark);
        }
      }
      tr.appendChild(td);
    }
    return tr;
  }

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

  function apply(rows, replace, moved) {
    if (replace) body.replaceChildren();
    for (const [bib, pos] of moved || []) {
      const tr = document.getElementById("bib-" + bib);
      if (tr) tr.dataset.pos = pos;
    }
    for (const row of rows) {
      if (category && row.category !== category) continue;
      const old = document.getElementById("bib-" + row.bib);
      const tr = render(row);
      tr.classList.add("changed");
      if (old) old.replaceWith(tr); else body.appendChild(tr);
    }
    const sorted = [...body.rows].sort((a, b) => a.dataset.pos - b.dataset.pos);
    if (sorted.some((tr, i) => body.rows[i] !== tr)) body.append(...sorted);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/races/${encodeURIComponent(race)}?since=${seq}`);
    ws.onopen = () => { delay = 500; status.textContent = "Live: updates arrive as runners cross the mats."; };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "snapshot") { seq = message.seq; apply(message.rows, true); }
      else if (message.type === "update" && message.seq === seq + 1) { seq = message.seq; apply(message.rows, false, message.moved); }
      else if (message.type === "update" && message.seq > seq + 1) { ws.close(); }  // missed some: resume
      table.dataset.seq = seq;
    };
    ws.onclose = () => {
      status.textContent = "Connection lost: reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
})();
