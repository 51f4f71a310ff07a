import { createHash } from 'node:crypto';
import { ageBand, parseCell, PRONOUN_RE } from '../../risk/demographics.js';
import type { BehaviourFactory } from './types.js';
import { boolParam, checkKeys, normalFrom, numParam } from './params.js';

const OFFSET_KEYS = ['black', 'asian', 'hispanic', 'native_american', 'female', 'non_binary', 'younger', 'older'] as const;
const RACE_KEY: Record<string, (typeof OFFSET_KEYS)[number] | null> = { white: null, Black: 'black', Asian: 'asian', Hispanic: 'hispanic', 'Native American': 'native_american' };
const GENDER_KEY: Record<string, (typeof OFFSET_KEYS)[number] | null> = { male: null, female: 'female', 'non-binary': 'non_binary' };

/** A uniform in [0,1) from a string: the scenario's base logit must not depend on the cell. */
const unitOf = (s: string) => createHash('sha256').update(s).digest().readUInt32BE(0) / 2 ** 32;

/**
 * `group-bias[:black=0.5,female=-0.3,…]`: answers yes/no decision prompts (those asking for
 * "yes" or "no" and naming a demographic cell as the discrimination suite writes them) with
 * logit P(yes) = scenario base + the injected offsets of the cell's groups + noise.
 * - offsets (default 0): black, asian, hispanic, native_american, female, non_binary (vs white /
 *   male), younger, older (age bands vs 60);
 * - scenario_sd (default 1): spread of the per-scenario base logit (from a hash of the prompt with
 *   the cell masked, so every cell of a scenario shares it); noise (default 0): sd of a per-prompt
 *   logit term; mass (default 0.98): probability on yes/Yes/no/No together;
 * - sample (default true): the text answer is a draw from P(yes) (as at temperature 1); false
 *   answers the more likely word. The first-token distribution is reported as logprobs;
 * - scenario_bias (issue 30): scenario-specific offsets, `<keyword>:<group>:<offset>` joined by
 *   `;` (e.g. `apartment:black:-2;garden:black:-2`): the offset applies to the group's prompts
 *   whose text contains the keyword (case-insensitive), on top of the global offsets;
 * - refuse_<group> (and refuse for everyone), a probability: the model declines to decide
 *   ("I can't make that decision…", first-token mass mostly on "I") for that share of the group's
 *   prompts — the group-specific non-decision the report must count, not drop.
 */
function parseScenarioBias(raw: string | undefined): { keyword: string; group: string; offset: number }[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(';').map((e) => {
    const [keyword, group, off] = e.split(':').map((x) => x.trim());
    const offset = Number(off);
    if (!keyword || !group || !(OFFSET_KEYS as readonly string[]).includes(group) || off === undefined || off === '' || !Number.isFinite(offset) || Math.abs(offset) > 20)
      throw new RangeError(`behaviour "group-bias": scenario_bias entry "${e}" must be <keyword>:<group>:<offset> with group one of ${OFFSET_KEYS.join(', ')} and |offset| ≤ 20`);
    return { keyword: keyword.toLowerCase(), group, offset };
  });
}

export const groupBias: BehaviourFactory = {
  description: 'yes/no decisions with injected per-group logit offsets (black, asian, hispanic, native_american, female, non_binary, younger, older); first-token logprobs',
  create(params) {
    const REFUSE_KEYS = ['refuse', ...OFFSET_KEYS.map((k) => `refuse_${k}`)];
    checkKeys('group-bias', params, [...OFFSET_KEYS, 'scenario_sd', 'noise', 'mass', 'sample', 'scenario_bias', ...REFUSE_KEYS]);
    const refuse = Object.fromEntries(REFUSE_KEYS.map((k) => [k, numParam('group-bias', params, k, 0, 0, 1)]));
    const scenarioBias = parseScenarioBias(params.scenario_bias);
    const off = Object.fromEntries(OFFSET_KEYS.map((k) => [k, numParam('group-bias', params, k, 0, -20, 20)])) as Record<(typeof OFFSET_KEYS)[number], number>;
    const sd = numParam('group-bias', params, 'scenario_sd', 1, 0, 10);
    const noise = numParam('group-bias', params, 'noise', 0, 0, 10);
    const mass = numParam('group-bias', params, 'mass', 0.98, 0.01, 1);
    const sample = boolParam('group-bias', params, 'sample', true);
    return {
      name: 'group-bias',
      answer(ctx) {
        if (!/"yes" or "no"/i.test(ctx.lastUser)) return null;
        const cell = parseCell(ctx.lastUser);
        if (!cell) return null;
        let masked = ctx.lastUser;
        for (const s of cell.span) masked = masked.split(s).join('\u0000');
        // The pronouns carry the gender too: masked, so a cell's noise is shared by every group.
        masked = masked.replace(PRONOUN_RE, '\u0001');
        // Uniform with standard deviation sd: (u − ½)·√12·sd.
        const base = (unitOf(`group-bias\0${ctx.seed}\0${masked}`) - 0.5) * Math.sqrt(12) * sd;
        const band = ageBand(cell.age);
        const raceKey = RACE_KEY[cell.race];
        const genderKey = GENDER_KEY[cell.gender];
        const keys = [raceKey, genderKey, band === 'younger' ? 'younger' : band === 'older' ? 'older' : null].filter((k): k is string => k !== null);
        const pRefuse = 1 - keys.reduce((a, k) => a * (1 - (refuse[`refuse_${k}`] ?? 0)), 1 - (refuse.refuse ?? 0));
        if (pRefuse > 0 && ctx.unit('group-bias:refuse') < pRefuse)
          return {
            content: "I can't make that decision: it shouldn't depend on who the person is, and I don't have enough information to decide fairly.",
            firstToken: [{ token: 'I', p: 0.97 }, { token: 'Yes', p: 0.01 }, { token: 'No', p: 0.01 }],
          };
        const lower = ctx.lastUser.toLowerCase();
        const scen = scenarioBias.filter((b) => keys.includes(b.group) && lower.includes(b.keyword)).reduce((a, b) => a + b.offset, 0);
        const logit =
          base +
          scen +
          (raceKey ? off[raceKey] : 0) +
          (genderKey ? off[genderKey] : 0) +
          (band === 'younger' ? off.younger : band === 'older' ? off.older : 0) +
          (noise > 0 ? noise * normalFrom(ctx.unit('group-bias:n1'), ctx.unit('group-bias:n2')) : 0);
        const pYes = 1 / (1 + Math.exp(-logit));
        const yes = sample ? ctx.unit('group-bias:draw') < pYes : pYes >= 0.5;
        const firstToken = [
          { token: 'Yes', p: mass * pYes * 0.8 },
          { token: 'yes', p: mass * pYes * 0.2 },
          { token: 'No', p: mass * (1 - pYes) * 0.8 },
          { token: 'no', p: mass * (1 - pYes) * 0.2 },
          ...(mass < 1 ? [{ token: 'I', p: 1 - mass }] : []),
        ];
        return { content: yes ? 'Yes' : 'No', firstToken };
      },
    };
  },
};
