import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENDERS, IMPLICIT_AGES, IMPLICIT_RACES, NAMES, parseCell, RACES, type Gender } from '../src/risk/demographics.js';
import { ROOT } from './helpers.js';

// The suite's own data, as shipped: what a model under test reads.
const rows = readFileSync(join(ROOT, 'suites/discrimination-decisions/data.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { id: string; prompt: string; scenario: string; age: number; gender: Gender; race: string; fill_type: 'explicit' | 'implicit' });
const implicit = rows.filter((r) => r.fill_type === 'implicit');
const explicit = rows.filter((r) => r.fill_type === 'explicit');
const words = (t: string) => t.toLowerCase().match(/[a-z]+/g) ?? [];
const OWN: Record<Gender, string[]> = { male: ['he', 'him', 'his'], female: ['she', 'her'], 'non-binary': ['they', 'them', 'their'] };
const ALL_PRONOUNS = ['he', 'him', 'his', 'she', 'her', 'they', 'them', 'their'];
// Literal "they/them" that do not refer to the person (none in the current texts; listed so a new scenario must decide).
const allowedOther: string[] = [];

test('discrimination names: the pronouns of every prompt match the stated gender (explicit and implicit)', () => {
  for (const r of rows) {
    const used = words(r.prompt).filter((w) => ALL_PRONOUNS.includes(w) && !allowedOther.includes(w));
    assert.ok(used.length > 0, `${r.id}: no pronoun`);
    for (const w of used) assert.ok(OWN[r.gender].includes(w), `${r.id}: "${w}" in a ${r.gender} prompt`);
  }
});

test('discrimination names: the implicit variant states neither race nor gender; only the name, the pronouns and the age signal them', () => {
  const labels = ['white', 'black', 'asian', 'hispanic', 'latino', 'latina', 'native', 'man', 'woman', 'male', 'female', 'non', 'binary', 'nonbinary'];
  for (const r of implicit) {
    for (const w of words(r.prompt)) assert.ok(!labels.includes(w), `${r.id}: states "${w}"`);
    assert.doesNotMatch(r.prompt, /\((he|she|they)\/(him|her|them)\)/, `${r.id}: pronoun label`);
    const cell = parseCell(r.prompt);
    assert.ok(cell, `${r.id}: the cell is not recognisable`);
    assert.deepEqual([cell.race, cell.gender, cell.age], [r.race, r.gender, r.age], r.id);
  }
  for (const r of explicit) {
    const cell = parseCell(r.prompt)!;
    assert.deepEqual([cell.race, cell.gender, cell.age], [r.race, r.gender, r.age], r.id);
  }
});

test('discrimination names: validated names, several per cell, surnames shared across genders, ages within the names\' birth cohorts', () => {
  for (const race of IMPLICIT_RACES) {
    const n = NAMES[race];
    for (const g of ['male', 'female'] as const) {
      assert.ok(n[g].length >= 3, `${race} ${g}: ${n[g].length} names`);
      // Each name was perceived as the intended race by a clear majority in the source survey.
      for (const x of n[g]) assert.ok(x.perceived >= 0.65 && x.perceived <= 1, `${x.name}: ${x.perceived}`);
    }
    const surnames = (g: 'male' | 'female') => new Set(n[g].map((x) => x.name.split(' ').at(-1)));
    assert.deepEqual([...surnames('male')].sort(), [...surnames('female')].sort(), `${race}: gender changes the surnames`);
  }
  // Several distinct names per race × gender cell in the shipped data, and no name in two cells.
  const byCell = new Map<string, Set<string>>();
  const cellOf = new Map<string, string>();
  for (const r of implicit) {
    const cell = parseCell(r.prompt)!;
    const name = r.prompt.match(/is ([A-Z][a-z]+ [A-Z][a-z]+), \d+ years old/)![1]!;
    const key = `${r.race}/${r.gender}`;
    (byCell.get(key) ?? byCell.set(key, new Set()).get(key)!).add(name);
    if (r.gender !== 'non-binary') {
      assert.ok(!cellOf.has(name) || cellOf.get(name) === key, `${name} in ${cellOf.get(name)} and ${key}`);
      cellOf.set(name, key);
    }
    assert.ok((IMPLICIT_AGES as readonly number[]).includes(cell.age), `${r.id}: age ${cell.age}`);
  }
  assert.equal(byCell.size, IMPLICIT_RACES.length * GENDERS.length);
  for (const [k, s] of byCell) assert.ok(s.size >= 3, `${k}: ${s.size} names`);
  // The design: explicit 12 × 135, implicit 12 × 2 ages × 3 genders × 4 races.
  assert.equal(explicit.length, 12 * 9 * 3 * RACES.length);
  assert.equal(implicit.length, 12 * IMPLICIT_AGES.length * GENDERS.length * IMPLICIT_RACES.length);
  assert.ok(!implicit.some((r) => r.race === 'Native American'));
});

test('discrimination names: a changed pronoun or age is read as what it says, not as the name\'s default', () => {
  const r = implicit.find((x) => x.gender === 'female')!;
  const asThey = r.prompt.replace(/\bShe\b/g, 'They').replace(/\bshe\b/g, 'they').replace(/\bher\b/g, 'their');
  assert.equal(parseCell(asThey)!.gender, 'non-binary');
  assert.equal(parseCell(r.prompt.replace(/\d+ years old/, '63 years old'))!.age, 63);
  // Without an age or a pronoun the cell is unknown rather than guessed.
  assert.equal(parseCell(r.prompt.replace(/, \d+ years old,/, '')), null);
});
