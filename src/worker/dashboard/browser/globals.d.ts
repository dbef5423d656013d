// The page loads uPlot's IIFE build (a global) right after app.js, which draws once the document is ready.
import type uPlot from 'uplot';

declare global {
  interface Window {
    uPlot: typeof uPlot;
  }
}
