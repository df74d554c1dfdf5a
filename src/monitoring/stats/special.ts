// Special functions the drift tests need (log-gamma, binomial density, incomplete gamma, normal tail, Bessel K).

const LN_SQRT_2PI = 0.9189385332046727;
const MIN_EXP = -745;

/** log Γ(x) for x > 0: Stirling series after shifting x above 15, accurate to a few ulps of the result. */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  if (x === 1 || x === 2) return 0;
  let shift = 0;
  let prod = 1;
  while (x < 15) {
    prod *= x;
    x += 1;
    // Keep the running product away from overflow for tiny x by folding it into the log early.
    if (prod > 1e280) {
      shift += Math.log(prod);
      prod = 1;
    }
  }
  shift += Math.log(prod);
  return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingTail(x) - shift;
}

/** Σ B2k / (2k(2k−1) x^(2k−1)), the remainder of Stirling's series (x ≥ 15). */
function stirlingTail(x: number): number {
  const r = 1 / (x * x);
  return (
    (1 / 12 -
      r * (1 / 360 - r * (1 / 1260 - r * (1 / 1680 - r * (1 / 1188 - r * (691 / 360360 - (r * 1) / 156)))))) /
    x
  );
}

/**
 * stirlerr(n) = log Γ(n+1) − (n+½)log n + n − log √(2π). Loader's saddle-point densities need it with
 * full relative precision, which log-gamma differences cannot give for large n.
 */
export function stirlerr(n: number): number {
  if (n > 15) return stirlingTail(n);
  return logGamma(n + 1) - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI;
}

/** bd0(x, m) = x log(x/m) + m − x, computed without cancellation when x ≈ m (Loader 2000). */
export function bd0(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    const v = (x - m) / (x + m);
    let s = (x - m) * v;
    let ej = 2 * x * v;
    const v2 = v * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v2;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / m) + m - x;
}

/** Binomial probability mass C(n,k) p^k (1−p)^(n−k) for integer k, n (Loader's algorithm). */
export function binomPmf(k: number, n: number, p: number): number {
  if (k < 0 || k > n) return 0;
  const q = 1 - p;
  if (p === 0) return k === 0 ? 1 : 0;
  if (q === 0) return k === n ? 1 : 0;
  if (k === 0) return n === 0 ? 1 : Math.exp(n * Math.log1p(-p));
  if (k === n) return Math.exp(n * Math.log(p));
  const lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
  return Math.exp(lc) * Math.sqrt(n / (2 * Math.PI * k * (n - k)));
}

/** Hypergeometric mass: k successes in n draws from a population of total with good successes. */
export function hypergeomPmf(k: number, total: number, good: number, n: number): number {
  const bad = total - good;
  if (k < Math.max(0, n - bad) || k > Math.min(n, good)) return 0;
  if (n === 0 || n === total) return 1;
  const p = n / total;
  return (binomPmf(k, good, p) * binomPmf(n - k, bad, p)) / binomPmf(n, total, p);
}

/** x^a e^(−x) / Γ(a), the common factor of the incomplete gamma expansions, without overflow. */
function gammaPrefactor(a: number, x: number): number {
  if (x === 0) return 0;
  if (a > 15) return Math.exp(-stirlerr(a) - bd0(a, x)) * Math.sqrt(a / (2 * Math.PI));
  const l = a * Math.log(x) - x - logGamma(a);
  return l < MIN_EXP ? 0 : Math.exp(l);
}

/** Regularised lower incomplete gamma P(a, x) and its complement Q(a, x) = 1 − P. */
export function gammaPQ(a: number, x: number): { p: number; q: number } {
  if (x <= 0) return { p: 0, q: 1 };
  if (!Number.isFinite(x)) return { p: 1, q: 0 };
  const f = gammaPrefactor(a, x);
  if (x < a + 1) {
    // Series Σ x^n / (a(a+1)…(a+n)), converging fast below the mode.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 100000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    const p = f * sum;
    return { p, q: 1 - p };
  }
  // Continued fraction for Q (modified Lentz), converging fast above the mode.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  const q = f * h;
  return { p: 1 - q, q };
}

/** Survival function of the chi-square distribution with df degrees of freedom. */
export function chi2Sf(x: number, df: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return gammaPQ(df / 2, x / 2).q;
}

/** erfc(x), through erfc(x) = Q(½, x²) for x ≥ 0. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  return gammaPQ(0.5, x * x).q;
}

/** Upper tail of the standard normal distribution, P(Z > z). */
export function normSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * e^(−q) K_ν(q) for q > 0, from K_ν(q) = ∫₀^∞ e^(−q cosh t) cosh(νt) dt by the trapezoid rule, which
 * converges geometrically for this analytic, fast-decaying integrand.
 */
export function besselKExpScaled(nu: number, q: number): number {
  // Written as e^(−2q) ∫ e^(−q(cosh t − 1)) cosh(νt) dt; the step shrinks like 1/√q where the peak narrows.
  const h = 0.25 / Math.sqrt(Math.max(q, 1));
  let sum = 0.5;
  for (let i = 1; i < 1_000_000; i++) {
    const t = i * h;
    const term = Math.exp(-q * (Math.cosh(t) - 1)) * Math.cosh(nu * t);
    sum += term;
    if (term < sum * 1e-18) break;
  }
  return Math.exp(-2 * q) * sum * h;
}
