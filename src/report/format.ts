/** A cost for reading: 6 decimals, or 2 significant digits below a millionth of a dollar (never a bare 0). */
export function formatUsd(usd: number): string {
  return usd !== 0 && Math.abs(usd) < 1e-6 ? usd.toPrecision(2) : usd.toFixed(6);
}
