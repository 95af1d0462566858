/**
 * What every benchmark shares: the median the figures are reported by. Their options are
 * keel bench's (cli/bench/): --help answered, a wrong or non-positive value a usage error with exit 2.
 */
export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
