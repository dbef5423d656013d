// The page loads uPlot's IIFE build (a global) before app.js.
import type uPlot from 'uplot';

declare global {
  interface Window {
    uPlot: typeof uPlot;
  }
}
