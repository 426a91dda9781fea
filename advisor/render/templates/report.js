"use strict";
document.querySelector(".controls").hidden = false;
document.querySelectorAll("[data-details]").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll("details").forEach((d) => { d.open = b.dataset.details === "open"; });
}));
addEventListener("beforeprint", () => document.querySelectorAll("details").forEach((d) => { d.open = true; }));
document.querySelectorAll("th[data-sort]").forEach((th) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], col = th.cellIndex, num = th.dataset.sort === "number";
  const down = th.getAttribute("aria-sort") === "ascending";
  th.parentNode.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", down ? "descending" : "ascending");
  const key = (row) => { const c = row.cells[col], v = c.dataset.value ?? c.textContent.trim();
    return num ? parseFloat(v) : v.toLowerCase(); };
  const rows = [...body.rows].sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (down ? -1 : 1));
  body.append(...rows);
}));
document.querySelectorAll(".thumb img").forEach((img) => img.addEventListener("click", () => img.classList.toggle("zoomed")));
