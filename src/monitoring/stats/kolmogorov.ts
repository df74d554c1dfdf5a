// Distributions of Kolmogorov–Smirnov statistics: one-sided Smirnov, two-sided Kolmogorov D_n (Simard & L'Ecuyer).
import { binomPmf, stirlerr } from "./special.ts";

const SCALE_EXP = 128;
const BIG = 2 ** SCALE_EXP;
const SMALL = 2 ** -SCALE_EXP;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;

const clip01 = (p: number): number => Math.min(1, Math.max(0, p));

/**
 * P(D⁺_n ≥ x), the one-sided Smirnov statistic, by the Birnbaum–Tingey sum. Each term is a binomial density
 * divided by its p, so Loader's binomial keeps full precision where log-gamma differences would not.
 * Beyond n = 10⁶ the sum is too long and SciPy (and we) switch to exp(−(6nx+1)²/(18n)).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(x >= 0 && x <= 1) || n <= 0) return Number.NaN;
  if (x === 0) return 1;
  if (x === 1) return 0;
  if (n > 1_000_000) return Math.exp(-((6 * n * x + 1) ** 2) / (18 * n));
  if (n === 1) return 1 - x;
  const last = Math.floor(n * (1 - x));
  let sum = 0;
  for (let v = 0; v <= last; v++) {
    const p = x + v / n;
    if (p >= 1) break;
    sum += binomPmf(v, n, p) / p;
  }
  return clip01(sum * x);
}

/** Pr(D_n ≤ d) by Durbin's matrix method as arranged by Marsaglia, Tsang and Wang; O(k³ log n), for small n·d. */
function kolmogCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  v[m - 1] = (1 + Math.max(2 * h - 1, 0) ** m - 2 * h ** m) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1] ?? 0;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] ?? 0;
  for (let j = 0; j < m; j++) H[(m - 1) * m + j] = v[m - 1 - j] ?? 0;

  let P = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let e = n;
  let expP = 0;
  let expH = 0;
  while (e > 0) {
    if (e % 2 === 1) {
      P = matMul(P, H, m);
      expP += expH;
    }
    H = matMul(H, H, m);
    expH *= 2;
    // Powers of H outgrow doubles; rescale and carry the binary exponent separately.
    if (Math.abs(H[(k - 1) * m + (k - 1)] ?? 0) > BIG) {
      for (let i = 0; i < H.length; i++) H[i] = (H[i] ?? 0) / BIG;
      expH += SCALE_EXP;
    }
    e = Math.floor(e / 2);
  }
  let p = P[(k - 1) * m + (k - 1)] ?? 0;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < SMALL) {
      p *= BIG;
      expP -= SCALE_EXP;
    }
  }
  return clip01(p * 2 ** expP);
}

function matMul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l] ?? 0;
      if (ail === 0) continue;
      const rowB = l * m;
      const rowO = i * m;
      for (let j = 0; j < m; j++) out[rowO + j] = (out[rowO + j] ?? 0) + ail * (b[rowB + j] ?? 0);
    }
  }
  return out;
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(D_n ≤ x) by Pomeranz's recursion (convolutions of Poisson-like weights), for n ≤ 140. */
function kolmogCdfPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const len = 2 * (ll + 1);
  const gp = new Float64Array(len);
  const twoGp = new Float64Array(len);
  const oneMinusTwoGp = new Float64Array(len);
  gp[0] = twoGp[0] = oneMinusTwoGp[0] = 1;
  for (let i = 1; i < len; i++) {
    gp[i] = ((gp[i - 1] ?? 0) * g) / n / i;
    twoGp[i] = ((twoGp[i - 1] ?? 0) * 2 * g) / n / i;
    oneMinusTwoGp[i] = ((oneMinusTwoGp[i - 1] ?? 0) * (1 - 2 * g)) / n / i;
  }
  let v0 = new Float64Array(len);
  let v1 = new Float64Array(len);
  v1[0] = 1;
  let s0 = 0;
  let s1 = 0;
  let expnt = 0;
  let j1 = pomeranzBounds(0, n, ll, ceilf, roundf)[0];
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [s0, s1] = [s1, s0];
    v1.fill(0);
    const [lo, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    j1 = lo;
    const pw = i === 1 || i === 2 * n + 1 ? gp : i % 2 === 1 ? twoGp : oneMinusTwoGp;
    const span = j2 - k1 + 1;
    if (span > 0) {
      const start = k1 - s0;
      const segLen = Math.min(span, len - start);
      const outStart = j1 - k1;
      const outLen = j2 - j1 + 1;
      let max = 0;
      for (let o = 0; o < outLen; o++) {
        const c = outStart + o;
        let acc = 0;
        for (let a = Math.max(0, c - span + 1); a <= Math.min(c, segLen - 1); a++) {
          acc += (v0[start + a] ?? 0) * (pw[c - a] ?? 0);
        }
        v1[o] = acc;
        if (acc > max) max = acc;
      }
      if (max > 0 && max < SMALL) {
        for (let o = 0; o < len; o++) v1[o] = (v1[o] ?? 0) * BIG;
        expnt -= SCALE_EXP;
      }
      s1 = s0 + j1 - k1;
    }
  }
  let ans = v1[n - s1] ?? 0;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > BIG) {
      ans *= SMALL;
      expnt += SCALE_EXP;
    }
    ans *= m;
  }
  return clip01(ans * 2 ** expnt);
}

/** Pelz–Good asymptotic series for Pr(D_n ≤ x), accurate for large n. */
function kolmogCdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  // Horner in q^(8k) over odd m = 2k−1, from the largest k down.
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qp = q ** (8 * k);
    K[0] = K[0]! * qp + 1;
    K[1] = K[1]! * qp + (k1a + k1b * m2);
    K[2] = K[2]! * qp + (k2a + k2b * m2 + k2c * m4);
    K[3] = K[3]! * qp + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
  }
  const denom = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * SQRT_2PI) / denom[i]!;
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const s3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    k2extra += k2 * qp;
    const kpi = Math.PI * k;
    k3extra += (s3z + kpi) * (s3z - kpi) * k2 * qp;
  }
  K[2] = K[2]! + (k2extra * PI2 * SQRT_2PI) / (-36 * z2 * z);
  K[3] = K[3]! + (k3extra * PI2 * SQRT_2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i]! / n ** (i / 2);
  return sum;
}

/**
 * Survival function Pr(D_n ≥ x) of the two-sided one-sample KS statistic, choosing the method per region as
 * Simard & L'Ecuyer (2011) and SciPy's kstwo do.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= (i / n) * (2 * t - 1);
    } else {
      cdf = Math.exp(0.5 * Math.log(2 * Math.PI * n) - n + stirlerr(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxx = t * x;
  if (n <= 140) {
    if (nxx <= 0.754693) return clip01(1 - kolmogCdfDurbin(n, x));
    if (nxx <= 4) return clip01(1 - kolmogCdfPomeranz(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxx >= 370) return 0;
  if (nxx >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf = n <= 100000 && n * x ** 1.5 <= 1.4 ? kolmogCdfDurbin(n, x) : kolmogCdfPelzGood(n, x);
  return clip01(1 - cdf);
}
