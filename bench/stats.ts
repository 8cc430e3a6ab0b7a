// Order statistics for benchmark output.

/** The p-quantile (0..1) of `xs` by the nearest-rank rule; `xs` is not changed. */
export function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** The median of `xs` (the upper one of an even count). */
export const median = (xs: number[]): number => quantile(xs, 0.5);
