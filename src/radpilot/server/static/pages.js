// radpilot's pages: keyboard shortcuts, worklist refresh, the image viewer, live QA, Sign.
// Plain JavaScript, no build step, nothing fetched from outside this server.
"use strict";
(function () {
  const body = document.body;
  const csrf = body.dataset.csrf || "";
  const page = body.dataset.page;
  const help = document.getElementById("help");

  function typing(ev) {
    const t = ev.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  function toggleHelp(show) {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  }
  const handlers = {};
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "Escape") {
      toggleHelp(false);
      if (typing(ev)) ev.target.blur();
      return;
    }
    if (typing(ev)) return;
    if (ev.key === "?") { toggleHelp(); ev.preventDefault(); return; }
    if (help && !help.hidden) return;
    if (ev.key === "/") {
      ev.preventDefault();
      const q = document.getElementById("q");
      if (q) q.focus(); else location.href = "/search";
      return;
    }
    const fn = handlers[ev.key];
    if (fn) { ev.preventDefault(); fn(ev); }
  });

  // ---------------------------------------------------------------- worklist
  if (page === "worklist") {
    const table = document.getElementById("worklist");
    let selected = null;
    const rows = () => Array.from(table.querySelectorAll("tbody tr[data-key]"));
    function select(i) {
      const all = rows();
      if (!all.length) return;
      i = Math.max(0, Math.min(all.length - 1, i));
      all.forEach((r) => r.classList.remove("selected"));
      all[i].classList.add("selected");
      all[i].setAttribute("aria-selected", "true");
      all[i].scrollIntoView({ block: "nearest" });
      selected = all[i].dataset.key;
    }
    const index = () => rows().findIndex((r) => r.dataset.key === selected);
    const open = () => { if (selected !== null) location.href = "/studies/" + encodeURIComponent(selected); };
    handlers["j"] = () => select(index() + 1);
    handlers["k"] = () => select(Math.max(0, index() - 1));
    handlers["Enter"] = open;
    table.addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr[data-key]");
      if (tr && ev.target.tagName !== "A") { selected = tr.dataset.key; open(); }
    });
    select(0);
    const every = Number(table.dataset.refresh || 0) * 1000;
    if (every > 0) {
      setInterval(async () => {
        const r = await fetch(location.href, { credentials: "same-origin" });
        if (!r.ok) return;
        const doc = new DOMParser().parseFromString(await r.text(), "text/html");
        const fresh = doc.querySelector("#worklist tbody");
        if (!fresh) return;
        table.querySelector("tbody").replaceWith(fresh);
        const i = index();
        select(i < 0 ? 0 : i);
      }, every);
    }
  }

  // ---------------------------------------------------------------- study
  if (page === "study") {
    const study = document.querySelector(".study");
    const go = (key) => { if (key) location.href = "/studies/" + encodeURIComponent(key); };
    handlers["j"] = () => go(study.dataset.next);
    handlers["k"] = () => go(study.dataset.prev);
    const canvas = document.getElementById("view");
    if (canvas) viewer(canvas);
    const draft = document.getElementById("draft");
    if (draft) report(draft, study.dataset.key);
  }

  function viewer(canvas) {
    const ctx = canvas.getContext("2d");
    const images = JSON.parse(document.getElementById("images-data").textContent);
    const info = images[0] || {};
    const level = document.getElementById("level");
    const width = document.getElementById("width");
    const preset = document.getElementById("preset");
    const heatBox = document.getElementById("heat");
    const heatFinding = document.getElementById("heat-finding");
    const boxes = document.getElementById("boxes");
    const readout = document.getElementById("wl-readout");
    const state = { img: null, heat: null, zoom: 1, panX: 0, panY: 0, draws: 0 };
    let timer = null;

    function draw() {
      const img = state.img;
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      if (!img) return;
      const fit = Math.min(canvas.width / img.naturalWidth, canvas.height / img.naturalHeight);
      const s = fit * state.zoom;
      const x0 = (canvas.width - img.naturalWidth * s) / 2 + state.panX;
      const y0 = (canvas.height - img.naturalHeight * s) / 2 + state.panY;
      ctx.imageSmoothingEnabled = s < 1;
      ctx.drawImage(img, x0, y0, img.naturalWidth * s, img.naturalHeight * s);
      if (heatBox.checked && state.heat) ctx.drawImage(state.heat, x0, y0, img.naturalWidth * s, img.naturalHeight * s);
      if (boxes.checked) {
        const sx = img.naturalWidth / (info.columns || img.naturalWidth);
        const sy = img.naturalHeight / (info.rows || img.naturalHeight);
        ctx.lineWidth = 2;
        ctx.font = "13px system-ui, sans-serif";
        for (const f of info.findings || []) {
          if (!f.box) continue;
          ctx.strokeStyle = f.positive ? "#ff5c5c" : "#5fb3ff";
          const bx = x0 + f.box.x * sx * s, by = y0 + f.box.y * sy * s;
          ctx.strokeRect(bx, by, f.box.width * sx * s, f.box.height * sy * s);
          ctx.fillStyle = ctx.strokeStyle;
          ctx.fillText(f.name + " " + Number(f.probability).toFixed(2), bx + 3, Math.max(14, by - 4));
        }
      }
      state.draws += 1;
      canvas.dataset.draws = String(state.draws);
      canvas.dataset.heat = heatBox.checked && state.heat ? "on" : "off";
      readout.textContent = "L " + level.value + " W " + width.value + " · zoom " + state.zoom.toFixed(2) + "x";
    }
    function load(src) {
      return new Promise((resolve, reject) => {
        const im = new Image();
        im.onload = () => resolve(im);
        im.onerror = reject;
        im.src = src;
      });
    }
    async function loadImage() {
      const src = canvas.dataset.image + "?level=" + level.value + "&width=" + width.value;
      canvas.dataset.window = level.value + "," + width.value;
      try { state.img = await load(src); } catch (e) { readout.textContent = "the image could not be loaded"; return; }
      draw();
    }
    const reload = () => { clearTimeout(timer); timer = setTimeout(loadImage, 120); };
    async function toggleHeat(force) {
      heatBox.checked = force === undefined ? !heatBox.checked : force;
      if (heatBox.checked && !state.heat) {
        readout.textContent = "computing the heatmap...";
        try {
          state.heat = await load(canvas.dataset.heatSrc + "?finding=" + encodeURIComponent(heatFinding.value));
        } catch (e) { readout.textContent = "no heatmap for this finding"; heatBox.checked = false; }
      }
      draw();
    }
    function step(by) {
      preset.selectedIndex = (preset.selectedIndex + by + preset.options.length) % preset.options.length;
      applyPreset();
    }
    function applyPreset() {
      const [lv, wd] = preset.value.split(",");
      level.value = lv; width.value = wd;
      loadImage();
    }
    function zoom(by, cx, cy) {
      const z = Math.max(0.5, Math.min(8, state.zoom * by));
      const k = z / state.zoom;
      cx = cx === undefined ? canvas.width / 2 : cx;
      cy = cy === undefined ? canvas.height / 2 : cy;
      state.panX = (state.panX - (cx - canvas.width / 2)) * k + (cx - canvas.width / 2);
      state.panY = (state.panY - (cy - canvas.height / 2)) * k + (cy - canvas.height / 2);
      state.zoom = z;
      draw();
    }
    level.addEventListener("input", reload);
    width.addEventListener("input", reload);
    preset.addEventListener("change", applyPreset);
    heatBox.addEventListener("change", () => toggleHeat(heatBox.checked));
    heatFinding.addEventListener("change", () => { state.heat = null; if (heatBox.checked) toggleHeat(true); });
    boxes.addEventListener("change", draw);
    canvas.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = canvas.getBoundingClientRect();
      zoom(ev.deltaY < 0 ? 1.25 : 0.8, (ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height);
    }, { passive: false });
    let drag = null;
    canvas.addEventListener("mousedown", (ev) => { drag = [ev.clientX, ev.clientY]; canvas.style.cursor = "grabbing"; });
    window.addEventListener("mouseup", () => { drag = null; canvas.style.cursor = "grab"; });
    window.addEventListener("mousemove", (ev) => {
      if (!drag) return;
      const r = canvas.getBoundingClientRect();
      state.panX += (ev.clientX - drag[0]) * canvas.width / r.width;
      state.panY += (ev.clientY - drag[1]) * canvas.height / r.height;
      drag = [ev.clientX, ev.clientY];
      draw();
    });
    handlers["h"] = () => toggleHeat();
    handlers["w"] = () => step(1);
    handlers["l"] = () => step(-1);
    handlers["+"] = handlers["="] = () => zoom(1.25);
    handlers["-"] = () => zoom(0.8);
    handlers["0"] = () => { state.zoom = 1; state.panX = state.panY = 0; draw(); };
    loadImage();
  }

  function report(draft, key) {
    const list = document.getElementById("qa-list");
    const status = document.getElementById("qa-status");
    const preview = document.getElementById("qa-preview");
    const signBtn = document.getElementById("sign");
    const signStatus = document.getElementById("sign-status");
    let timer = null, seq = 0;

    function show(text, problems) {
      list.replaceChildren();
      const spans = [];
      for (const p of problems) {
        const li = document.createElement("li");
        li.className = "sev-" + p.severity;
        li.textContent = p.severity + ": " + p.message;
        for (const e of p.evidence) {
          spans.push([e.start, e.end]);
          const m = document.createElement("mark");
          m.textContent = text.slice(e.start, e.end);
          li.append(" ", m);
        }
        list.append(li);
      }
      spans.sort((a, b) => a[0] - b[0]);
      preview.replaceChildren();
      let at = 0;
      for (const [a, b] of spans) {
        if (b <= at) continue;
        preview.append(text.slice(at, Math.max(a, at)));
        const m = document.createElement("mark");
        m.textContent = text.slice(Math.max(a, at), b);
        preview.append(m);
        at = b;
      }
      preview.append(text.slice(at));
      status.textContent = problems.length ? problems.length + " warning(s)" : "no warnings";
      status.dataset.count = String(problems.length);
    }
    async function runQA() {
      const mine = ++seq;
      const text = draft.value;
      status.textContent = "checking...";
      const r = await fetch("/pages/qa", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text: text, study: key }),
      });
      if (mine !== seq) return; // a newer check is on its way
      if (!r.ok) { status.textContent = "QA failed (" + r.status + ")"; return; }
      show(text, (await r.json()).problems);
    }
    draft.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(runQA, 400); });
    async function sign() {
      if (!draft.value.trim()) { signStatus.textContent = "nothing to sign"; return; }
      if (!window.confirm("Sign this report? It is stored in the archive and the study leaves the worklist.")) return;
      signBtn.disabled = true;
      const r = await fetch("/studies/" + encodeURIComponent(key) + "/sign", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text: draft.value }),
      });
      const out = await r.json().catch(() => ({}));
      if (r.ok) {
        signStatus.textContent = "Signed as " + out.report_id + ".";
        signStatus.className = "ok";
        draft.readOnly = true;
        document.querySelector(".study").dataset.status = "signed";
      } else {
        signBtn.disabled = false;
        signStatus.textContent = "Not signed: " + (typeof out.detail === "string" ? out.detail : r.status);
        signStatus.className = "error";
      }
    }
    signBtn.addEventListener("click", sign);
    handlers["s"] = sign;
    handlers["e"] = () => draft.focus();
    runQA();
  }
})();
