// The annotation page, keyboard first. Each proposal gets at most one decision:
// a accept, f flip certainty (text: present -> uncertain -> absent; image: +/-), r reject,
// j/k move, n posts the decisions and the seconds spent on the item. Dragging on the image
// redraws the current proposal's box (in source pixels).
(function () {
  "use strict";
  const root = document.getElementById("annotate");
  if (!root) return;
  const started = performance.now();
  const onImage = root.dataset.onImage === "true";
  const proposals = JSON.parse(document.getElementById("proposal-data").textContent);
  const rows = Array.from(document.querySelectorAll("#proposals li"));
  const decisions = new Map();  // index -> decision
  let current = 0;
  const TEXT_FLIP = { "1": -1, "-1": 0, "0": 1, "": 1 };
  const IMAGE_FLIP = { "1": 0, "0": 1, "-1": 1, "": 1 };
  const NAMES = { "1": "present", "0": "absent", "-1": "uncertain", "": "no label" };
  const key = (v) => (v === null || v === undefined ? "" : String(Math.trunc(v)));

  function show() {
    rows.forEach((li, i) => {
      const p = proposals[i];
      const d = decisions.get(i);
      li.classList.toggle("current", i === current);
      li.querySelector(".value").textContent = NAMES[key(p.value)];
      li.querySelector(".decision").textContent = d ? d.action + " → " + NAMES[key(d.value)] : "";
    });
    document.querySelectorAll("#report mark").forEach((m) => {
      m.classList.toggle("current", m.dataset.p.split(" ").includes(String(current)));
    });
    drawBoxes();
  }

  function decide(action) {
    if (!rows.length) return;
    const p = proposals[current];
    let value = p.value;
    if (action === "flip") value = (onImage || p.source === "image" ? IMAGE_FLIP : TEXT_FLIP)[key(p.value)];
    if (action === "reject") value = null;
    const prev = decisions.get(current);
    const box = prev && prev.action === "box" && action === "accept" ? prev.box : null;
    decisions.set(current, { proposal: current, action: box ? "box" : action, label: p.label, value: value, box: box });
    if (current < rows.length - 1) current += 1;
    show();
  }

  function save() {
    const list = Array.from(decisions.values());
    document.getElementById("decisions").value = JSON.stringify(list);
    document.getElementById("seconds").value = ((performance.now() - started) / 1000).toFixed(3);
    document.getElementById("answer").submit();
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key.toLowerCase();
    if (k === "a") decide("accept");
    else if (k === "f") decide("flip");
    else if (k === "r") decide("reject");
    else if (k === "j" && current < rows.length - 1) { current += 1; show(); }
    else if (k === "k" && current > 0) { current -= 1; show(); }
    else if (k === "n") save();
    else return;
    ev.preventDefault();
  });

  // ---- boxes: drawn over the image in display pixels, stored in source pixels
  const figure = document.getElementById("figure");
  const img = document.getElementById("image");
  function scale() {
    const cols = Number(figure.dataset.columns) || img.naturalWidth;
    return cols / img.clientWidth;
  }
  function boxOf(i) {
    const d = decisions.get(i);
    if (d && d.box) return d.box;
    if (d && (d.action === "reject" || d.value === 0)) return null;
    return proposals[i].box;
  }
  function drawBoxes() {
    if (!figure || !img.complete || !img.clientWidth) return;
    figure.querySelectorAll(".box").forEach((b) => b.remove());
    const s = scale();
    proposals.forEach((p, i) => {
      const b = boxOf(i);
      if (!b) return;
      const el = document.createElement("div");
      el.className = "box" + (i === current ? " current" : "");
      el.dataset.index = String(i);
      el.style.left = b.x / s + "px"; el.style.top = b.y / s + "px";
      el.style.width = b.width / s + "px"; el.style.height = b.height / s + "px";
      figure.appendChild(el);
    });
  }
  if (figure) {
    img.addEventListener("load", drawBoxes);
    let start = null;
    const at = (ev) => { const r = img.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
    figure.addEventListener("mousedown", (ev) => { start = at(ev); ev.preventDefault(); });
    window.addEventListener("mouseup", (ev) => {
      if (!start || !rows.length) { start = null; return; }
      const end = at(ev); const s = scale();
      const x0 = Math.max(0, Math.min(start[0], end[0])), y0 = Math.max(0, Math.min(start[1], end[1]));
      const w = Math.abs(end[0] - start[0]), h = Math.abs(end[1] - start[1]);
      start = null;
      if (w < 3 || h < 3) return;
      const p = proposals[current];
      const box = { x: Math.round(x0 * s), y: Math.round(y0 * s), width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
      const value = p.value === null || p.value === 0 ? 1 : p.value;
      decisions.set(current, { proposal: current, action: "box", label: p.label, value: value, box: box });
      show();
    });
  }
  show();
})();
