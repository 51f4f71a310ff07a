/**
 * Which agencies a jurisdiction reaches (docs/formats/findings.md, "Agency matching"). PURE.
 *
 * Jurisdictions are ISO 3166-1 alpha-2 codes or "EU". The EU is a jurisdiction above its member
 * states: an EU-level agency (jurisdiction "EU", e.g. the AI Office) oversees what concerns any
 * member state, and a finding or verdict for the EU as a whole concerns every member state's
 * agency (the AI Act's reporting runs to the AI Office "and, as appropriate, national competent
 * authorities"). Outside the EU, a jurisdiction matches only itself.
 */
export const EU = 'EU';
/** The 27 member states (ISO 3166-1 alpha-2; Greece is GR, not the EU's own "EL"). */
export const EU_MEMBER_STATES: ReadonlySet<string> = new Set(['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE']);

/** Whether an agency of `agency`'s jurisdiction is concerned by something filed for `js`. */
export function agencyCovers(agency: string, js: readonly string[]): boolean {
  return js.some((j) => j === agency || (agency === EU && EU_MEMBER_STATES.has(j)) || (j === EU && EU_MEMBER_STATES.has(agency)));
}

/** Every agency jurisdiction concerned by `js` (for a database `in` filter). */
export function agencyJurisdictionsFor(js: readonly string[]): string[] {
  const out = new Set(js);
  if (js.some((j) => EU_MEMBER_STATES.has(j))) out.add(EU);
  if (js.includes(EU)) for (const m of EU_MEMBER_STATES) out.add(m);
  return [...out].sort();
}
