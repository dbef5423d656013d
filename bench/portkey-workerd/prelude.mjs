// Runs before Portkey's Node entry is evaluated. Its top level reads `--headless` from process.argv (else it reads
// its UI's HTML file from disk) and animates a start-up spinner for a second with timers, which workerd forbids in
// the global scope: during evaluation only, timers fire at once (the spinner's promise resolves) and are then restored.
const realTimeout = globalThis.setTimeout;
const realInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
globalThis.setTimeout = (fn) => {
  fn();
  return 0;
};
globalThis.setInterval = () => 0;
globalThis.clearInterval = () => undefined;
globalThis.__portkeyRestoreTimers = () => {
  globalThis.setTimeout = realTimeout;
  globalThis.setInterval = realInterval;
  globalThis.clearInterval = realClearInterval;
};
if (globalThis.process) globalThis.process.argv = ['node', 'start-server.js', '--headless'];
