import { normalQuantile } from './dist.js';

/** Inputs of Miller R5. Variances are per-sample variances of one model's scores. */
export interface PowerInputs {
  /** Two-sided significance level (default 0.05). */
  alpha?: number;
  /** 1 − β (default 0.8). */
  power?: number;
  /** Per-sample score variance of model A (and of B unless sigma2B is given). */
  sigma2?: number;
  /** Binary scores: expected rate; variance p(1 − p). Used when sigma2 is absent. */
  p?: number;
  sigma2B?: number;
  /** Same samples for both models (paired differences, R4). */
  paired?: boolean;
  /** Correlation of the two models' per-sample scores; only with paired (default 0). */
  correlation?: number;
  /** Residual within-sample variance E[σ²] and epochs per sample K (R3 terms σ²/K_A + σ²/K_B). */
  withinVariance?: number;
  epochs?: number;
}

export interface PowerPlan {
  alpha: number;
  power: number;
  zAlpha: number;
  zBeta: number;
  /** ω² + σ_A²/K_A + σ_B²/K_B: variance of one sample's difference. */
  varianceTerm: number;
  paired: boolean;
  correlation: number;
  mde: number;
  /** Samples needed (per model when unpaired); ceiling of nExact. */
  n: number;
  nExact: number;
}

function terms(o: PowerInputs) {
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
  const sA = o.sigma2 ?? (o.p !== undefined ? o.p * (1 - o.p) : NaN);
  if (!(sA >= 0)) throw new RangeError('give sigma2 (score variance) or p (expected rate of a binary score)');
  const sB = o.sigma2B ?? sA;
  const rho = o.paired ? (o.correlation ?? 0) : 0;
  if (!(rho >= -1 && rho <= 1)) throw new RangeError(`correlation must be in [-1, 1], got ${rho}`);
  // Var(A − B) per sample: σ_A² + σ_B² − 2ρσ_Aσ_B (ρ = 0 unpaired: independent samples).
  let v = sA + sB - 2 * rho * Math.sqrt(sA * sB);
  if (o.withinVariance !== undefined) v += (2 * o.withinVariance) / (o.epochs ?? 1);
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zBeta = normalQuantile(power);
  return { alpha, power, zAlpha, zBeta, v, rho, paired: !!o.paired };
}

/** Samples needed to detect a true difference `mde` (Miller R5): n = (z_{α/2} + z_β)² · V / δ². */
export function sampleSizeFor(o: PowerInputs & { mde: number }): PowerPlan {
  if (!(o.mde > 0)) throw new RangeError(`mde must be > 0, got ${o.mde}`);
  const t = terms(o);
  const nExact = ((t.zAlpha + t.zBeta) ** 2 * t.v) / (o.mde * o.mde);
  return { alpha: t.alpha, power: t.power, zAlpha: t.zAlpha, zBeta: t.zBeta, varianceTerm: t.v, paired: t.paired, correlation: t.rho, mde: o.mde, n: Math.ceil(nExact - 1e-9), nExact };
}

/** Smallest true difference detectable with n samples (Miller R5): δ = (z_{α/2} + z_β) · sqrt(V / n). */
export function minDetectableEffect(o: PowerInputs & { n: number }): PowerPlan {
  if (!(o.n > 0)) throw new RangeError(`n must be > 0, got ${o.n}`);
  const t = terms(o);
  const mde = (t.zAlpha + t.zBeta) * Math.sqrt(t.v / o.n);
  return { alpha: t.alpha, power: t.power, zAlpha: t.zAlpha, zBeta: t.zBeta, varianceTerm: t.v, paired: t.paired, correlation: t.rho, mde, n: o.n, nExact: o.n };
}
