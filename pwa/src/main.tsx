import { render } from "preact";
import { boot } from "./ui/app-state.js";
import { App } from "./ui/App.js";
import { startRouter } from "./ui/router.js";
import { registerServiceWorker } from "./ui/update.js";
import "./ui/styles.css";

startRouter();
registerServiceWorker();
const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
void boot();
if (localStorage.getItem("terrain.bench") === "1") void import("./ui/bench.js").then((bench) => { bench.install(); });
