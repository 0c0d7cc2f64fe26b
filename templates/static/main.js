// The page's behaviour. Loaded as a module (type="module"): split code into more files with import/export.
document.getElementById("year").textContent = String(new Date().getFullYear());

document.getElementById("start").addEventListener("click", () => {
  document.getElementById("about").textContent = "Ready when you are.";
});
