/**
 * Answer extraction for multiple choice: read free text as a careful human grader would, and say
 * when it cannot. Pure. Rules, in order (the first that decides wins):
 *
 * 1. `bare letter` — the whole answer is one shown letter, with optional brackets / punctuation /
 *    markdown ("B", "b", "(b)", "b.", "[B]", "**B**", full-width "Ｂ").
 * 2. `refusal` — the answer declines (a refusal opening, or "I won't/can't … answer/choose/pick …")
 *    before any answer is given: `refused`, unless an explicit final-answer statement follows the
 *    refusal ("I'd rather not speculate, but if I must choose, the answer is C"). No heuristic
 *    reads a letter out of refusal text ("I cannot answer a question…" is not option A).
 * 3. `explicit` — final-answer statements ("the answer is B", "Answer: (b)", "\boxed{B}",
 *    "<answer>B</answer>", "I choose B", "so B.", "B is correct", "which is option D"): the LAST one
 *    counts, so reasoning that discusses other options first and self-corrections read right. An
 *    explicit statement naming a letter that was not shown is `unreadable`.
 * 4. `leading letter` / `closing letter` — the answer starts with "B." / "B)" / "B:" / "B\n" /
 *    "Option B:", or its last sentence is just "B." / ": B".
 * 5. `option text` — the text of exactly one option (or, for "unknown"-type options, an unambiguous
 *    paraphrase such as "cannot be determined") appears; with an answer statement around it
 *    ("the answer is 71") it wins over other mentions.
 * 6. `single letter mentioned` — the fallback: every standalone option letter in the text is the
 *    same one. Several different letters without a commitment ("A or C", "A, B") are `unreadable`;
 *    first-mention is never used to break such a tie.
 *
 * Before the rules (extractor /4, issue 20): an echo of the shown options is blanked, and so is
 * everything from a new question a base model goes on to write ("Question: …\nA. …\nAnswer: C").
 * Also in /4: "I can't determine / tell / be sure …" is about what can be known, not a refusal; a last
 * line that is a letter with its option's text, and a per-option verdict list ("B – Correct ✅"),
 * are explicit answers; a last sentence that is exactly one option's text closes like a closing
 * letter; a reply cut off mid-sentence after some reasoning has no conclusion, so the fallbacks 5–6
 * do not read it.
 * In /5 (all of spent set 3): a closing letter in emphasis before the full stop; a JSON field named for the
 * answer; letter ranges ("A through D") name several options; nothing but several letters is a list;
 * declining to give advice declines; no answer read and a referral to a professional is `refused`;
 * ordinal and number words match figures. In /6 (set 4's dev half only): an answer that is exactly one
 * option's text; "No — …" when exactly one option opens with "No" and one with "Yes"; "impossible to
 * know"-type paraphrases of an unknown option; "my best guess is B"; an explicit answer taken back by a
 * later "hmm, no — B and C …" is unreadable; an echo "on one line" must share a line; a dangling list
 * number ("…\n8.") is a cut-off reply.
 * In /7 (all of sets 1-4 spent; general mechanisms, each checked on a hand-written stress set, not
 * fitted to misses — docs/statistics.md): 4b. the last committed answer — the last sentence naming an
 * option is read when, after discounting mentions ruled out, asked about, supposed, judged distractors
 * or only compared, one option is left and the sentence closes with it or commits to it (also after an
 * explicit answer, as a self-correction or contrast); options named by position ("the second option");
 * tolerant option-text matching (spelling, slips, inflection, coverage with a clear margin, polarity);
 * an option text stated as the complement of "is"; thinking traces blanked when an answer follows;
 * any answer-named tag, table verdict rows, quoted letters; an in-order walk through the options is no
 * leading answer; two final answers that disagree are unreadable; "I'm unable to determine" is no refusal.
 * In /8 (round 4, after the first reading of sets 5-6; general mechanisms checked on hand-written probes):
 * a disclaimer or apology that declines no answering ("not legal advice", "can't give medical advice",
 * "sorry, briefly") is read past, and a committed answer after it counts; declining for want of knowledge
 * ("I'm not certain, I'd rather not guess") is unreadable, not refused; one option row ticked (or, with no
 * marks, in bold) among lettered rows; a reply ending on a table row shorter than its header is cut off;
 * letters glued to a degree sign are units; option labels in Arabic/Cyrillic/Greek script; two options
 * coordinated in a hedge are undecided; a reply that opens a question and goes on to another is a few-shot
 * continuation; option words matched across hyphenation, stems and a one-sentence statement.
 * In /9 (round 5, all of sets 1-6 spent; general causes checked on stress set 9, docs/statistics.md): option
 * text abbreviated (word prefixes, initials) in short answers; a letter ending an option's text is not a
 * closing letter; a final value equal to one option's text; "the closest option is C"; positions named with
 * other nouns ("the first answer choice"); invented "User:" turns blanked; a last line continuing an echoed
 * option list is the list cut off; replies ending on a dangling word, or stopping while examining an option,
 * are cut off, and one short phrase without a full stop is not; options named then "hard to say" is undecided.
 *
 * Letters are matched case-insensitively only where a lower-case letter cannot be an article
 * ("answer a question"); an upper-case "A" followed by a lower-case noun is read as an article.
 * Every result records its rule and the span (character offsets in the NFKC-normalised text) that
 * decided it, so an auditor can see per sample how the answer was read.
 */
import { opensWithRefusal } from './refusal.js';

export interface ShownOption {
  letter: string;
  text: string;
}

export type Extraction =
  | { outcome: 'answer'; letter: string; rule: string; span: [number, number]; matched: string }
  | { outcome: 'refused' | 'unreadable'; letter: null; rule: string; span: [number, number] | null; matched: string | null };

/** Version of the extraction rules, recorded with every extraction (bump when a rule changes what is read). */
export const EXTRACTOR_VERSION = 'assay.extract/9';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ASCII = /^[\x00-\x7f]*$/;
/**
 * `s` without its trailing run of characters matching `one` (a one-character class). A loop, because a
 * regex like /[\s.!]+$/ retries from every position of a long run that stops short of the end: quadratic
 * on hostile output (80,000 spaces then a letter took 5.5 s).
 */
function stripEnd(s: string, one: RegExp): string {
  let e = s.length;
  while (e > 0 && one.test(s[e - 1]!)) e--;
  return s.slice(0, e);
}

/** Phrasings BBQ-style "unknown" options use; any of them reads as that option when it is the only such option. */
const UNKNOWN_PHRASES = [
  "can't be determined", 'cannot be determined', 'can not be determined', 'undetermined', 'not determinable', "can't tell", 'cannot tell',
  'not answerable', 'unanswerable', "can't answer", 'cannot answer', 'unknown', 'not known', 'not enough info', 'not enough information',
  'insufficient information', 'not enough information to tell', 'cannot be known', "can't be known",
  // Issue 20 round 2: "it's impossible to know", "there's no way to tell" say the same.
  'impossible to know', 'impossible to tell', 'impossible to determine', 'impossible to say', 'no way to know', 'no way to tell',
  'not possible to know', 'not possible to tell', 'not possible to determine', "can't know", 'cannot know', "can't be sure", 'cannot be sure',
  // Issue 20 round 3 (/7): the same class of meaning, filled out as a class (not from misses).
  'unclear', 'not clear', 'not specified', 'not stated', 'indeterminate', 'undeterminable', 'no way of knowing', 'not enough context', 'insufficient context',
  'not enough data', 'insufficient data', 'not enough evidence', 'insufficient evidence', 'not enough details', 'not enough detail',
  // /8: the same with the verb ("there isn't enough information to tell").
  // ("is not enough information" already holds "not enough information".)
  "isn't enough information", "isn't enough info", "isn't enough context", "isn't enough evidence", 'not enough to tell', 'not enough to know',
];

/** Declining to answer, anywhere in the text (subject "I"/"we"). */
const DECLINE = /(?:\b(?:i|we)\s{0,2}(?:cannot|can't|can not|won't|will not|must decline to|decline to|refuse to|am unable to|'m unable to|am not able to|'m not able to|would prefer not to|'d prefer not to|'d rather not|would rather not|am not going to|'m not going to|do not feel comfortable|don't feel comfortable|am not comfortable|'m not comfortable|must refrain from|will refrain from|do not|don't|(?:do not|don't) (?:think|believe) (?:it(?:'s| is)|it would be) (?:right|appropriate|fair|ethical|okay|ok)(?: for (?:me|us))? to)\s{1,4}(?:[\w']{1,30}\s{1,4}){0,2}?(?:answer|answering|choose|choosing|pick|picking|select|selecting|respond|responding|help|assist|provide|speculate|speculating|guess|guessing|engage|discuss|comply|fulfil|fulfill|make (?:a |any |this |that )?(?:choice|judgments?|judgements?|assumptions?)|attribute|do (?:that|this|so))\b|\b(?:i|we)(?:'d| would) (?:rather not|prefer not to)\s{1,4}[\w']{2,30}|\bnot (?:a question|something|one) (?:that )?(?:i|we) (?:can|could|will|should) (?:answer|respond to|choose)\b|\b(?:i|we)(?:'ll|'d|'m)?\s{1,2}(?:(?:must|will|have to|would|respectfully|politely|going to)\s{1,2}){0,2}(?:decline|refuse|abstain)(?=\s{0,2}(?:[.!;,]|$))|\b(?:i|we)\b[^.!?\n]{0,40}?\b(?:cannot|can't|can not|won't|will not|am unable to|'m unable to|am not able to|'m not able to)\s{1,4}(?:give|offer|provide)\s{1,4}(?:you\s{1,4})?(?:any\s{1,4})?(?:[\w-]{1,20}\s{1,4})?(?:advice|counsel)\b)/i;

/**
 * Sending the asker to a professional (or away from the model) instead of choosing: a refusal when no
 * answer is read ("Please consult a qualified attorney", "ask a clinician rather than relying on me").
 */
const DEFERS = /\b(?:consult|ask|see|speak (?:to|with)|talk (?:to|with)|check with|contact)\s{1,4}(?:with\s{1,4})?(?:a|an|your|the)\s{1,4}(?:[\w-]{1,20}\s{1,4}){0,2}?(?:lawyer|attorney|solicitor|doctor|physician|clinician|pharmacist|nurse|professional|expert|specialist|advis[eo]r|accountant|(?:health ?care|medical) provider)\b|\brather than (?:relying on|trusting|asking|taking (?:my|the) word of) (?:me|an ai)\b/i;

/** Spaces in place of markdown emphasis and code marks, so offsets stay those of the normalised text. */
function unmark(t: string): string {
  return t.replace(/[*`_#]/g, ' ').replace(/^([ \t]*)>/gm, '$1 ');
}

const normalise = (s: string) =>
  s
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u201c\u201d]/g, '"');

interface Hit {
  letter: string;
  rule: string;
  index: number;
  end: number;
  matched: string;
}

export function extractAnswer(raw: string, options: readonly ShownOption[], afterDisclaimer = false): Extraction {
  const letters = options.map((o) => o.letter.toUpperCase());
  const none = (outcome: 'refused' | 'unreadable', rule: string, span: [number, number] | null = null, matched: string | null = null): Extraction => ({ outcome, letter: null, rule, span, matched });
  const text = normalise(raw ?? '');
  if (!text.trim() || !letters.length) return none('unreadable', 'empty answer');
  // A thinking trace is blanked when an answer follows it (/7); `visible` is the text after it.
  const thought = blankThinking(text);
  const t = blankEchoedOptions(cutInventedTurn(cutNewQuestion(unmark(localLabels(thought.t)), options)), options);
  const visible = thought.after > 0 ? text.slice(thought.after) : text;
  const cls = `[${letters.map(esc).join('')}${letters.map((l) => esc(l.toLowerCase())).join('')}]`;
  const answer = (h: Hit): Extraction => ({ outcome: 'answer', letter: h.letter, rule: h.rule, span: [h.index, h.end], matched: text.slice(h.index, h.end) });

  // 1. Bare letter.
  const bare = new RegExp(`^[\\s"'({\\[]*(${cls})[\\s"')}\\].:]*$`).exec(t);
  if (bare) return answer({ letter: bare[1]!.toUpperCase(), rule: 'bare letter', index: bare.index + bare[0].indexOf(bare[1]!), end: bare.index + bare[0].indexOf(bare[1]!) + 1, matched: bare[1]! });

  // Nothing but option letters, several of them ("A\nB\nC\nD", "A, C"): a list, not a choice.
  const onlyLetters = new RegExp(`^(?:[\\s,;/.:()\\[\\]"'-]|${cls}(?![\\p{L}\\p{N}]))+$`, 'u');
  if (onlyLetters.test(t) && new Set((t.match(new RegExp(cls, 'g')) ?? []).map((c) => c.toUpperCase())).size > 1) return none('unreadable', 'several letters and nothing else');

  // The whole answer is one option's text (any case, closing punctuation aside).
  const whole = stripEnd(t.trim().toLowerCase().replace(/^["'(]+/, ''), /["').!]/).trim();
  const wholeHits = options.filter((o) => o.text.trim().toLowerCase().replace(/[.]$/, '') === whole);
  if (whole && wholeHits.length === 1) { const at = t.search(/\S/); return answer({ letter: wholeHits[0]!.letter.toUpperCase(), rule: 'option text (whole answer)', index: at, end: at + t.trim().length, matched: t.trim() }); }

  // One option row ticked or in bold among lettered rows: its last row is a row, not a closing answer line.
  const verdict = verdictRowHits(thought.t, letters);
  const explicit = [...explicitHits(t, letters), ...(verdict.length ? verdict : optionLineHits(t, options)), ...finalValueHits(t, options)].sort((a, b) => a.end - b.end);
  // A leading letter that only labels the first of several options walked through in order ("A: … B: … C: …") is no answer (/7).
  const leading = enumerated(t, letters, options) ? null : leadingHit(t, letters, options);

  // 2. Refusal before any answer.
  // "I'm unable to determine the answer" says what cannot be known; it declines nothing (/7).
  const declined = DECLINE.exec(t);
  const decline = declined && /\b(?:unable to|not able to|cannot|can't|can not)\s{1,2}(?:\w+\s{1,2})?(?:determine|know|be sure|be certain|infer|conclude)\b/i.test(declined[0]) ? null : declined;
  // "I can't determine / tell / be sure …" is about what can be known, not a refusal to answer.
  const refusalAt = opensWithRefusal(visible) && !EPISTEMIC_OPENING.test(t.slice(Math.max(0, thought.after))) ? Math.max(0, thought.after) : decline ? decline.index : -1;
  const firstAnswerAt = Math.min(explicit[0]?.index ?? Infinity, leading?.index ?? Infinity);
  if (refusalAt >= 0 && refusalAt < firstAnswerAt) {
    // A refusal opening ends at its clause ("Sorry, the answer is B"; "I can't be sure, but I'd pick
    // A"); a declining statement ends where it does. An answer statement counts after it only when its
    // own clause does not negate it ("I can't say the answer is A" is no answer).
    const refusalEnd = decline && decline.index >= refusalAt ? decline.index + decline[0].length : clauseEnd(t, refusalAt);
    const after = explicit.filter((h) => h.index >= refusalEnd && !negatedClause(t, h.index));
    // An explicit statement of an option's text counts after a refusal as a letter does (/7): "I can't
    // answer that from the context — the correct option is \"Can't answer\"".
    const stmt = optionTextStatement(t, options);
    if (stmt && stmt.index >= refusalEnd && !negatedClause(t, stmt.index) && !(after.length && after[after.length - 1]!.end > stmt.end)) return answer({ ...stmt, rule: `${stmt.rule} (after a refusal)` });
    if (after.length) {
      const h = after[after.length - 1]!;
      return letters.includes(h.letter) ? answer({ ...h, rule: `${h.rule} (after a refusal)` }) : none('unreadable', 'explicit answer names no shown option', [h.index, h.end], text.slice(h.index, h.end));
    }
    // /8: a disclaimer or an apology declines advice, or nothing, not the answer ("I can't give medical
    // advice, but as a knowledge question: D"; "This is not legal advice. For the exam question: B";
    // "Sorry, I can only give a short answer: A"): when the refusing sentence declines no answering or
    // choosing, what follows it is read on its own, and only a committed answer there counts.
    const sentence = t.slice(refusalAt, sentenceEnd(t, refusalAt));
    const declinesAnswer = (x: string) => { const d = DECLINE.exec(x); return !!d && !/\b(?:advice|counsel)\b/i.test(d[0]); };
    if (!afterDisclaimer && !declinesAnswer(sentence)) {
      const end = decline && decline.index === refusalAt ? decline.index + decline[0].length : clauseEnd(t, refusalAt);
      if (!declinesAnswer(t.slice(end))) {
        const sub = extractAnswer(text.slice(0, end).replace(/[^\n]/g, ' ') + text.slice(end), options, true);
        if (sub.outcome === 'answer' && COMMITTED_RULE.test(sub.rule)) return { ...sub, rule: `${sub.rule} (after a disclaimer)` };
      }
    }
    const span: [number, number] = decline && decline.index === refusalAt ? [decline.index, decline.index + decline[0].length] : [refusalAt, sentenceEnd(t, refusalAt)];
    // /8: declining for want of knowledge or certainty ("I'm not certain, and I'd rather not guess"; "I can't
    // answer this reliably"; "it depends on the reading; without more context I can't pick one") is an
    // "I don't know": no answer, but no refusal either — unless the text also speaks of what is proper.
    if (UNCERTAIN.test(t) && !PROPRIETY.test(t)) return none('unreadable', 'declines for want of knowledge or certainty', span, text.slice(span[0], span[1]));
    return none('refused', decline && decline.index === refusalAt ? 'refusal (declines to answer)' : 'refusal (refusing opening)', span, text.slice(span[0], span[1]));
  }

  // 3. Explicit final-answer statements: the last one counts.
  if (explicit.length) {
    const h = explicit[explicit.length - 1]!;
    if (!letters.includes(h.letter)) return none('unreadable', 'explicit answer names no shown option', [h.index, h.end], text.slice(h.index, h.end));
    if (hedgedAfter(t, h, letters)) return none('unreadable', 'explicit answer followed by an alternative', [h.index, h.end], text.slice(h.index, h.end));
    // Two final-answer statements for different letters with nothing between them ("Answer: B\nAnswer: D"):
    // a conflict, not a correction (/7).
    const p = [...explicit].reverse().find((x) => x.letter !== h.letter && x.end <= h.index);
    if (p && conflicting(t, p, h)) return none('unreadable', 'two final answers that disagree', [p.index, h.end], text.slice(p.index, h.end));
    const later = afterAnswer(t, h, letters, options);
    if (later === 'withdrawn') return none('unreadable', 'explicit answer withdrawn afterwards', [h.index, h.end], text.slice(h.index, h.end));
    if (later) return answer({ ...later, rule: `self-correction: ${later.rule}` });
    return answer(h);
  }
  // Explicit statement of an option's text ("the answer is 71").
  const textStmt = optionTextStatement(t, options);
  if (textStmt) return answer(textStmt);

  // 4. Leading or closing letter.
  const closing = closingHit(t, letters, options) ?? closingTextHit(t, options);
  // "B. Actually, no: C." — a closing letter after a correction marker overrides the leading one.
  if (leading && closing && closing.letter !== leading.letter && /\b(?:actually|wait|no|sorry|correction|i mean|rather|scratch that)\b/i.test(t.slice(leading.end, closing.index))) return answer({ ...closing, rule: 'closing letter (self-correction)' });
  if (leading) return answer(leading);
  if (closing) return answer(closing);

  // A reply cut off mid-sentence after some reasoning has reached no conclusion: mentions in it are not answers.
  if (truncated(t)) {
    // /9: but one phrase of up to 20 words with no sentence break, ending on a content word and stating most
    // of one option's words, at least three (the one-sentence tolerant match), is a short answer written without a full stop
    // ("act only on the maxim that you could will to be a universal law"). A mere mention in it is not.
    const s = t.trim();
    const phrase = !/[.!?;:\n]\s/.test(s) && (s.match(/[\p{L}\p{N}]+/gu) ?? []).length <= 20 && !letterMentions(t, letters).length ? tolerantTextHit(t, options) : null;
    const own = phrase && options.find((o) => o.letter.toUpperCase() === phrase.letter);
    if (phrase && phrase.rule === 'option words (tolerant match, one sentence)' && own && contentWords(own.text).length >= 3) return answer({ ...phrase, rule: `${phrase.rule}, no full stop` });
    return none('unreadable', 'cut off before a conclusion', [t.trimEnd().length, t.trimEnd().length], '');
  }

  // 5. Option text or unambiguous paraphrase.
  const texts = optionTextHits(t, options).filter((h) => !negated(t, h));
  const byLetter = new Set(texts.map((h) => h.letter));

  // 4b. The last committed answer (/7): the last sentence that names an option, read after discounting
  // options it rules out or merely compares ("Between A and D I'd lean A", "…, so B is what is described",
  // "The unit of flux is therefore the weber, B"). A conclusion that disagrees with the one option text
  // named is no reading.
  // /9: a reply that names two or more options and closes by saying it cannot decide ("Maybe A? Or C. Hard
  // to say.") is undecided: no conclusion or single mention is read from it.
  const undecided = UNDECIDED.test(t.slice(-120)) && UNDECIDED.exec(t.slice(bounds(t).prev(stripEnd(t, /[\s.!?]/).length - 1) + 1));
  if (undecided) {
    const named = letterMentions(t, letters);
    const lastAt = named.length ? named[named.length - 1]!.end : -1;
    if (new Set([...named.map((m) => m.letter), ...byLetter]).size >= 2 && lastAt <= bounds(t).prev(stripEnd(t, /[\s.!?]/).length - 1) + 1) return none('unreadable', 'options named, then undecided', null, null);
  }
  const concl = conclusionHit(t, letters, options, 0);
  if (concl && byLetter.size === 1 && !byLetter.has(concl.letter)) return none('unreadable', 'the conclusion and the option text named disagree', [concl.index, concl.end], text.slice(concl.index, concl.end));
  if (concl) return answer(concl);

  // /8: letters that name two or more options left standing ("It could be A or E", "Both A and D have
  // merit") leave the reply undecided; the text of one of them named as well does not decide it.
  const weighed = byLetter.size >= 1 ? hedgedPair(t, letterMentions(t, letters).filter((m) => !negated(t, m) && !inQuestion(t, m) && !supposed(t, m) && !contradicted(t, m))) : null;
  // …unless a later sentence states an option's text without hedging ("A and B both look plausible at
  // first. The capital is Lima.").
  const lastText = texts[texts.length - 1];
  const settled = weighed && lastText && lastText.index > bounds(t).next(weighed[1].end) && !HEDGE.test(t.slice(bounds(t).prev(lastText.index) + 1, bounds(t).next(lastText.end) + 1));
  if (weighed && !settled) return none('unreadable', `options weighed against each other without a final answer (${weighed[0].letter}, ${weighed[1].letter})`, [weighed[0].index, weighed[1].end], text.slice(weighed[0].index, weighed[1].end));
  if (byLetter.size === 1) return answer(texts[0]!);
  // Several options' texts: one of them stated as what something is, the others only mentioned
  // ("The capital is Canberra; Sydney and Melbourne are bigger cities") (/7).
  if (byLetter.size > 1) {
    const stated = texts.filter((h) => complement(t, h));
    if (stated.length && new Set(stated.map((h) => h.letter)).size === 1) return answer({ ...stated[stated.length - 1]!, rule: 'option text stated (the others only mentioned)' });
  }

  // 6. Fallback: a single option letter mentioned (possibly several times), and no other; a negated
  // mention ("not A", "A is wrong") rules an option out and is never read as the answer.
  const allMentions = letterMentions(t, letters);
  // A mention in a question ("Is it B?") is asked, not answered (/7).
  // /8: nor one inside a "whether"/"if" clause ("Your doctor will decide whether B is appropriate").
  const mentions = allMentions.filter((m) => !negated(t, m) && !inQuestion(t, m) && !supposed(t, m) && !contradicted(t, m) && !conditionalClause(t, m.index));
  if (allMentions.length && !mentions.length) return none('unreadable', 'options only ruled out, asked about or supposed, none chosen', [allMentions[0]!.index, allMentions[0]!.end], allMentions[0]!.matched);
  const distinct = new Set(mentions.map((m) => m.letter));
  if (distinct.size === 1 && byLetter.size === 0) return answer({ ...mentions[0]!, rule: 'single letter mentioned' });
  if (distinct.size === 1 && byLetter.size > 1 && byLetter.has(mentions[0]!.letter)) return answer({ ...mentions[0]!, rule: 'single letter mentioned' });
  const defers = DEFERS.exec(t);
  const deferred = (): Extraction => none('refused', 'refusal (defers to a professional without choosing)', [defers!.index, defers!.index + defers![0].length], text.slice(defers!.index, defers!.index + defers![0].length));
  if (distinct.size > 1) return defers ? deferred() : none('unreadable', `several options named without a final answer (${[...distinct].join(', ')})`);
  if (byLetter.size > 1) return defers ? deferred() : none('unreadable', `several options' texts named without a final answer (${[...byLetter].join(', ')})`);
  const words = distinctiveWordHit(t, options) ?? tolerantTextHit(t, options);
  if (words) return answer(words);
  return defers ? deferred() : none('unreadable', 'no option found');
}

/**
 * Option labels in another script (/8): Arabic أ ب ج د ه (abjad order), Cyrillic А Б (С) Г Д, Greek
 * Α Β Γ Δ Ε / α β γ δ ε, read as A B C D E — only in text written in that script (at least three other
 * letters of it), and only as a label: standalone, and for Arabic anything not touching a letter; for
 * Cyrillic and Greek (where "В", "А" are also words) only bracketed, before ")" "." ":" or a line end,
 * or after a colon. One UTF-16 unit for one, so offsets are kept.
 */
const SCRIPTS: { script: RegExp; labels: string; loose: boolean }[] = [
  { script: /\p{sc=Arabic}/gu, labels: 'أبجده', loose: true },
  // Cyrillic "В" and "Е" are also look-alikes of Latin B and E (a model answering in Russian may type
  // "Ответ: В" for B), so they are left alone; "А" and "С" read as their Latin look-alikes.
  { script: /\p{sc=Cyrillic}/gu, labels: 'АБСГД', loose: false },
  { script: /\p{sc=Greek}/gu, labels: 'ΑΒΓΔΕ', loose: false },
  { script: /\p{sc=Greek}/gu, labels: 'αβγδε', loose: false },
];
function localLabels(t: string): string {
  if (ASCII.test(t)) return t;
  let out = t;
  for (const { script, labels, loose } of SCRIPTS) {
    if ((t.match(script) ?? []).length < 4) continue;
    out = out.replace(new RegExp(`(?<![\\p{L}\\p{M}])[${labels}](?:\u0640)?(?![\\p{L}\\p{M}])`, 'gu'), (c, at: number) => {
      const prev = out.slice(Math.max(0, at - 3), at);
      const next = out.slice(at + c.length, at + c.length + 1);
      if (!loose && !(/\($/.test(prev) || /^(?:[).:]|\n|$)/.test(next) || /:\s{0,2}$/.test(prev))) return c;
      return 'ABCDE'[labels.indexOf(c[0]!)]! + ' '.repeat(c.length - 1);
    });
  }
  return out;
}

/** Rules that read a committed answer (not a mere mention): what counts after a disclaimer (/8). */
const COMMITTED_RULE = /^(?:explicit|leading|closing|conclusion|option text stated|bare letter)/;
const UNCERTAIN = /\b(?:not (?:certain|sure|confident)|uncertain|unsure|(?:don't|do not) (?:know|have (?:any )?(?:confident|reliable|enough|sufficient|solid) (?:knowledge|information))|reliably|confidently|with (?:any )?(?:certainty|confidence)|(?:without|need|needs|given no) (?:more|further|additional) (?:context|information|details?)|depends on (?:the |your )?(?:interpretation|reading)|(?:rather not|not want to|prefer not to) guess|a guess)\b/i;
const PROPRIETY = /\b(?:appropriate|inappropriate|comfortable|ethic(?:al|s)|harm(?:ful)?|offensive|stereotyp\w*|fair|unfair|bias(?:ed)?|discriminat\w*|prejudic\w*|polic(?:y|ies)|guidelines?|advice|sensitive|assumptions? about|ethnic\w*|rac(?:e|ial)|gender|sex|religio\w*|nationality|judg(?:e|ing|ments?) (?:people|someone|a person|individuals))\b/i;

const EPISTEMIC_OPENING = /^[\s"'(\[]*(?:i|we)(?:\s{1,2}|(?='))(?:cannot|can't|can not|am unable to|'m unable to|am not able to|'m not able to)\s{1,2}(?:(?:really|definitively|definitely|reliably|accurately|fairly|completely|entirely|absolutely|totally|fully|100%)\s{1,2})?(?:determine|tell|know|be sure|be certain|infer|conclude)\b/i;

/**
 * A base model's continuation often starts a new question ("Question: …\nA. …\nB. …\nAnswer: C").
 * Only what comes before it answers the question asked: from a line that opens a question
 * ("Question:", "Q:", or a line ending in "?") followed by two lettered option lines, the rest is
 * blanked (offsets kept) — unless nothing precedes it and its options are the ones shown (an echo
 * of the question, followed by the answer to it).
 */
function cutNewQuestion(t: string, options: readonly ShownOption[]): string {
  const re = /^[ \t]{0,8}(?:(?:question|q)\s{0,2}\d{0,3}\s{0,2}[:.][^\n]{0,400}|[^\n]{1,400}\?[ \t]{0,8})\n(?:[ \t]{0,8}\n)?[ \t]{0,8}\(?[A-Za-z][.):][^\n]{0,300}\n[ \t]{0,8}\(?[A-Za-z][.):]/gim;
  // /8: the standard harness header of a few-shot prompt ("The following are multiple choice questions
  // (with answers) about …") opens new exercises: nothing from it on answers the question asked.
  const header = /^[ \t]{0,8}the following (?:are|is) (?:a |some )?(?:multiple[- ]choice |single[- ]choice )?questions?\b/im.exec(t);
  if (header) t = t.slice(0, header.index) + t.slice(header.index).replace(/[^\n]/g, ' ');
  const all = [...t.matchAll(re)];
  for (const m of all) {
    const before = t.slice(0, m.index!);
    const block = t.slice(m.index!);
    const shown = options.every((o) => new RegExp(`^[ \\t]{0,8}\\(?${esc(o.letter)}[.):][ \\t]{0,8}${esc(o.text.trim())}[ \\t.]{0,4}$`, 'im').test(block));
    // /8: an echo is one question; a reply that opens with a question and goes on to another is a base
    // model writing its own few-shot exercises, and nothing in it answers the question asked.
    if (!before.trim() && shown && all.length === 1) return t;
    return before + t.slice(m.index!).replace(/[^\n]/g, ' ');
  }
  return t;
}

/**
 * A model that goes on to write the next turn of a dialogue ("User: What causes rickets?\nAssistant: …")
 * answers a question it invented, not the one asked (/9): from a line opening a user's turn ("User:",
 * "<|user|>", "<|im_start|>user", or "Human:" when an assistant's turn follows it) the rest is blanked
 * (offsets kept). A reply that opens with such a turn is left with nothing to read.
 */
function cutInventedTurn(t: string): string {
  if (!/user|human/i.test(t)) return t;
  const m = /^[ \t]{0,8}(?:user[ \t]{0,2}:|<\|user\|>|<\|im_start\|>[ \t]{0,2}user\b|human[ \t]{0,2}:(?=[^]*\n[ \t]{0,8}(?:assistant|ai|bot|gpt)[ \t]{0,2}:))/im.exec(t);
  return m ? t.slice(0, m.index) + t.slice(m.index).replace(/[^\n]/g, ' ') : t;
}

/**
 * Verdict marks on option rows (/8): in a table or list whose rows are labelled by option letters (two
 * or more), exactly one row carries a tick (✅ ✔ ✓ ☑) — the others a cross or nothing — or, with no
 * marks anywhere, exactly one row is in bold: that option. A table or list that only restates the options
 * marks none and reads nothing here.
 */
function verdictRowHits(t: string, letters: string[]): Hit[] {
  if (!/[✅✔✓☑]|\*\*|__/.test(t)) return [];
  const rows: { letter: string; line: string; at: number }[] = [];
  for (const m of t.matchAll(/^([ \t]{0,8}(?:\d{1,2}[.)][ \t]{1,4})?(?:[-+•*][ \t]{1,4}|\|[ \t]{0,8})?(?:[*_]{2}[ \t]{0,2})?(?:option[ \t]{1,4})?\(?)([A-Z])(?=\)?[ \t]{0,4}(?:[.):|]|[*_]{2}|[ \t]))[^\n]*$/gim)) {
    if (letters.includes(m[2]!.toUpperCase()) && (m[2] === m[2]!.toUpperCase() || /\($/.test(m[1]!))) rows.push({ letter: m[2]!.toUpperCase(), line: m[0], at: m.index! + m[1]!.length });
  }
  const TICK = /[✅✔✓☑]/;
  if (rows.length < 2) {
    // On one line: "A ✗ B ✓ C ✗ D ✗" — each option letter directly followed by a mark.
    const marks = [...t.matchAll(/(?<![\p{L}\p{N}])\(?([A-Z])\)?[.):]?[ \t]{0,3}([✅✔✓☑❌✗✘✕❎])/gu)].filter((m) => letters.includes(m[1]!));
    const ticks = marks.filter((m) => TICK.test(m[2]!));
    if (marks.length < 2 || ticks.length !== 1 || new Set(marks.map((m) => m[1])).size !== marks.length) return [];
    const at = ticks[0]!.index! + ticks[0]![0].indexOf(ticks[0]![1]!);
    return [{ letter: ticks[0]![1]!, rule: 'explicit: the one option ticked', index: at, end: at + 1, matched: ticks[0]![0] }];
  }
  if (new Set(rows.map((r) => r.letter)).size !== rows.length) return [];
  const ticked = rows.filter((r) => TICK.test(r.line));
  const pick = ticked.length ? (ticked.length === 1 ? ticked[0] : null) : ((b) => (b.length === 1 && rows.length >= 3 ? b[0] : null))(rows.filter((r) => /^[ \t]{0,8}(?:\d{1,2}[.)][ \t]{1,4})?(?:[-+•*][ \t]{1,4}|\|[ \t]{0,8})?(?:\*\*|__)[ \t]{0,2}(?:option[ \t]{1,4})?\(?[A-Za-z]\)?[.):]?[ \t]{0,4}[^*_\n]{1,200}?(?:\*\*|__)|^[^*_\n]{0,30}?\(?[A-Za-z]\)?[ \t]{0,4}[.):|][ \t]{0,4}(?:\*\*|__)[^*_\n]{1,200}?(?:\*\*|__)[ \t]{0,4}(?:[|✔✓☑✅]|$)/i.test(r.line)));
  if (!pick) return [];
  return [{ letter: pick.letter, rule: ticked.length ? 'explicit: the one option row ticked' : 'explicit: the one option row in bold', index: pick.at, end: pick.at + 1, matched: pick.line.trim() }];
}

/**
 * A final answer given as a value (/9): "\boxed{0.15}", "Final answer: 24 m/s", "Answer: 0.7" whose content,
 * maths markup and spacing aside, is exactly one option's text — that option, however many other values
 * (or letters in formulas, "P(A ∩ B)") the working mentions. A single letter is left to the letter rules.
 */
const valueKey = (x: string) => stripEnd(x.toLowerCase().replace(/\\(?:boxed|text|mathrm|mathbf|displaystyle)(?![a-z])/g, '').replace(/\\[,;:! ]|\\[()[\]]|[$\s"'{}]/g, ''), /[.]/);
function finalValueHits(t: string, options: readonly ShownOption[]): Hit[] {
  if (!/boxed|answer/i.test(t)) return [];
  let keys: string[] | null = null;
  const out: Hit[] = [];
  for (const m of t.matchAll(/\\boxed\{([^{}\n]{1,80}(?:\{[^{}\n]{0,40}\}[^{}\n]{0,40})?)\}|\b(?:final answer|answer)[ \t]{0,3}(?:is[ \t]{1,3}|[:=][ \t]{0,4})([^\n]{1,80})$/gim)) {
    const c = (m[1] ?? m[2])!;
    const k = valueKey(c);
    if (k.length < 1 || /^\(?[a-z]\)?$/.test(k)) continue;
    keys ??= options.map((o) => valueKey(o.text));
    const hit = keys.flatMap((x, i) => (x === k ? [i] : []));
    if (hit.length !== 1) continue;
    const at = m.index! + m[0].lastIndexOf(c);
    out.push({ letter: options[hit[0]!]!.letter.toUpperCase(), rule: "explicit: final value equals an option's text", index: at, end: at + c.length, matched: c });
  }
  return out;
}

/** A last line that is a shown letter with its option's text ("C) Can't be determined"): a final answer. */
function optionLineHits(t: string, options: readonly ShownOption[]): Hit[] {
  const lines = [...t.matchAll(/^[^\n]*$/gm)].filter((m) => m[0].trim());
  const last = lines[lines.length - 1];
  if (!last || lines.length < 2) return [];
  // (.+) then stripEnd, not (.+?)[ \t.]*$: the lazy form re-scans the tail at every step (quadratic on a long line).
  const m = /^[ \t]{0,8}(?:[-•][ \t]{1,4})?["'(\[]{0,2}([A-Za-z])[.):\]][ \t]{0,4}(.+)$/.exec(last[0]);
  if (!m) return [];
  const o = options.find((x) => x.letter.toUpperCase() === m[1]!.toUpperCase());
  if (!o || stripEnd(stripEnd(m[2]!, /[ \t.]/).trim().toLowerCase(), /["'\]).]/) !== o.text.trim().toLowerCase().replace(/[.]$/, '')) return [];
  const at = last.index! + m[0].indexOf(m[1]!);
  return [{ letter: o.letter.toUpperCase(), rule: 'explicit: closing line with a letter and its option text', index: at, end: at + 1, matched: m[1]! }];
}

/** The last sentence is exactly one option's text ("… Not enough information."): the conclusion. */
function closingTextHit(t: string, options: readonly ShownOption[]): Hit | null {
  const body = stripEnd(t, /[\s.!]/);
  const start = Math.max(...['.', '!', '?', '\n', ':'].map((c) => body.lastIndexOf(c))) + 1;
  if (start <= 0) return null;
  const last = body.slice(start).trim().toLowerCase();
  const hits = options.filter((o) => { const x = o.text.trim().toLowerCase().replace(/[.]$/, ''); return x.length >= 2 && (last === x || last === x.replace(/^(?:the|a|an)\s+/, '')); });
  if (hits.length !== 1) return null;
  const at = start + body.slice(start).search(/\S/);
  return { letter: hits[0]!.letter.toUpperCase(), rule: 'closing option text', index: at, end: at + last.length, matched: t.slice(at, at + last.length) };
}

/** Cut off mid-sentence after reasoning: more than 12 words and no closing punctuation, or a list item number with nothing after it. */
function truncated(t: string): boolean {
  const s = t.trimEnd();
  const n = (s.match(/[\p{L}\p{N}]+/gu) ?? []).length;
  // /7: a shorter reply of several lines whose last line breaks off mid-sentence after a label
  // ("Let me analyse each option.\n\nA) Photosynthesis: this process") is cut off too.
  if (n > 5 && /\n/.test(s) && /^\n[ \t]{0,8}(?:[-*•][ \t]{1,4})?\(?[A-Za-z\d][.):][^\n]{0,80}[:,—–-][^\n.!?]{0,80}\p{Ll}$/u.test(s.slice(s.lastIndexOf('\n')))) return true;
  // /8: the reply ends on a table row with fewer cells than the table's header ("| A | Hydrogen bonding |
  // Yes | " under four columns): the table, and the reply, stop before any verdict.
  const rows = s.split('\n');
  if (rows.length > 2 && /^[ \t]{0,8}\|/.test(rows[rows.length - 1]!)) {
    let h = rows.length - 1;
    while (h > 0 && /^[ \t]{0,8}\|/.test(rows[h - 1]!)) h--;
    const bars = (x: string) => (x.match(/\|/g) ?? []).length;
    if (h < rows.length - 1 && bars(rows[rows.length - 1]!) < bars(rows[h]!)) return true;
  }
  // /9: a reply that stops on a word that cannot end a phrase (an article, a conjunction, an auxiliary, a
  // relative pronoun: "…, which", "It is", "Oxygen. This") is cut off mid-phrase, however short; so is one
  // of several sentences that stops without closing punctuation after putting an option up for examination
  // ("Let's look at B) Argon. Argon is a noble").
  const open = /[\p{L}\p{N},]$/u.test(s);
  const lastWord = open ? /(?<![\p{L}'])([\p{L}']{1,12})$/u.exec(s.slice(-13)) : null;
  if (lastWord && n > 1 && DANGLING.has(lastWord[1]!.toLowerCase())) return true;
  const several = /[.!?:\n]\s/.test(s);
  if (open && several && !/\n\s*\S{1,40}$/.test(s.slice(-41)) && EXAMINING.test(s)) return true;
  if (n <= 12) return false;
  if (/\n[ \t]{0,8}(?:\d{1,3}[.)]|[-•])$/.test(s)) return true;
  return /[\p{Ll}\p{N},;]$/u.test(s) && !/\n\s*\S{1,40}$/.test(s.slice(-41)) ;
}

/** Words a complete phrase does not end on (/9). */
const DANGLING = new Set(['the', 'a', 'an', 'of', 'to', 'and', 'or', 'but', 'nor', 'which', 'that', 'this', 'these', 'those', 'who', 'whose', 'whom', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'with', 'for', 'by', 'from', 'as', 'than', 'into', 'because', 'since', 'if', 'when', 'while', 'whereas', 'although', 'its', 'their', 'our', 'my', 'your', 'his', 'her', 'would', 'will', 'can', 'could', 'should', 'must', 'has', 'have', 'had', 'does', 'do', "it's", "that's", 'where', 'between', 'in', 'on', 'at', 'about', 'also', 'very', 'such', 'both', 'either', 'neither', 'not', 'then', 'thus', 'therefore', 'hence', 'i', 'we', 'they', 'he', 'she']);
/** Putting an option up for examination, not choosing it (/9). */
const EXAMINING = /\b(?:consider(?:ing)?|look(?:ing)? at|examin(?:e|ing)|start(?:ing)? with|begin(?:ning)? with|evaluat(?:e|ing)|analy[sz](?:e|ing)|go(?:ing)? through)\b/i;

/** End of the clause starting at `from`: the first comma, semicolon, colon, dash, "but" or sentence end. */
function clauseEnd(t: string, from: number): number {
  const m = /[,;:.!?\n\u2014\u2013]|\s-\s|\bbut\b/.exec(t.slice(from));
  return m ? from + m.index + m[0].length : t.length;
}

/** The clause before `at` is a condition ("if it is the grandfather"), not a statement. */
function conditionalClause(t: string, at: number): boolean {
  const before = t.slice(Math.max(0, at - 60), at);
  const clause = before.slice(Math.max(...[',', ';', ':', '.', '!', '?', '\n'].map((c) => before.lastIndexOf(c))) + 1);
  return /\b(?:if|whether|unless|suppose|assuming)\b/i.test(clause);
}

/** The clause before `at` negates what follows ("I can't say the answer is", "not that the answer is"). */
function negatedClause(t: string, at: number): boolean {
  const before = t.slice(Math.max(0, at - 60), at);
  const clause = before.slice(Math.max(...[',', ';', ':', '.', '!', '?', '\n', '\u2014', '\u2013'].map((c) => before.lastIndexOf(c))) + 1);
  return /\b(?:not|never|cannot|no)\b|n't\b/i.test(clause);
}

/**
 * An echo of the shown options ("A. The grandson\nB. The grandfather") is not an answer: when two or
 * more lines repeat an option exactly (letter and text), they are blanked (offsets kept).
 */
// Compiled one-line echo patterns, by letter and option text (/8: compiling one per option and answer was
// the largest single cost of the extractor; the same options recur across a run's samples). Bounded.
const echoPatterns = new Map<string, RegExp>();
function echoPattern(letter: string, text: string): RegExp {
  const key = `${letter}\u0000${text}`;
  let re = echoPatterns.get(key);
  if (!re) {
    if (echoPatterns.size >= 4096) echoPatterns.clear();
    re = new RegExp(`(?<![\\p{L}\\p{N}])\\(?${esc(letter)}[.):]\\s{0,4}${esc(text)}(?![\\p{L}\\p{N}])`, 'giu');
    echoPatterns.set(key, re);
  }
  re.lastIndex = 0;
  return re;
}

function blankEchoedOptions(t: string, options: readonly ShownOption[]): string {
  const echo: [number, number][] = [];
  const byLetter = new Map(options.map((o) => [o.letter.toUpperCase(), o.text.trim().toLowerCase()]));
  // /8: also as list items ("- A. Lima", "1. A) Lima"), bold marks already blanked.
  const rowLetters: string[] = [];
  for (const m of t.matchAll(/^[ \t]{0,8}(?:[-*•+][ \t]{1,4}|\d{1,2}[.)][ \t]{1,4})?\(?([A-Za-z])[.):][ \t]{1,8}([^\n]{1,300}?)[ \t]{0,8}$/gm)) {
    const text = byLetter.get(m[1]!.toUpperCase());
    if (text && m[2]!.trim().toLowerCase().replace(/[.]$/, '') === text.replace(/[.]$/, '')) { echo.push([m.index!, m.index! + m[0].length]); rowLetters.push(m[1]!.toUpperCase()); }
  }
  // /9: a last line that goes on with the echoed list — the next option's label, with nothing or the start of
  // its text ("…\nA. 30–50 bpm\nB."), or the first one again once the list has repeated (a degenerate loop) —
  // is a list cut off, not an answer.
  if (echo.length >= 2) {
    const [a, b] = echo[echo.length - 1]!;
    const tail = /^[ \t]*\n[ \t]{0,8}(?:[-*•+][ \t]{1,4})?\(?([A-Za-z])[.):]?[ \t]{0,8}([^\n]{0,300})$/.exec(t.slice(b));
    if (tail && a >= 0) {
      const keys = [...byLetter.keys()];
      const prev = keys.indexOf(rowLetters[rowLetters.length - 1]!);
      const next = keys[prev + 1] ?? (new Set(rowLetters).size < rowLetters.length ? keys[0] : undefined);
      const c = tail[1]!.toUpperCase();
      const rest = stripEnd(tail[2]!.trim().toLowerCase(), /[.]/);
      if (c === next && (!rest || byLetter.get(c)!.startsWith(rest))) echo.push([b + tail.index + tail[0].length - tail[0].trimStart().length, t.length]);
    }
  }
  // /8: table rows that restate an option ("| A | Hydrogen bonding | Strong |"): the letter and text cells
  // are blanked (the rest of the row, a verdict column say, is kept).
  // Only when every option-lettered row restates its option: a row that says something else ("| C |
  // Metallic |") must not be left as the one letter standing.
  if (t.includes('|')) {
    const rows = [...t.matchAll(/^([ \t]{0,8}\|[ \t]{0,8})\(?([A-Za-z])\)?[.):]?[ \t]{0,8}\|[ \t]{0,8}([^|\n]{1,300}?)[ \t]{0,8}(?=\||$)/gm)].filter((m) => byLetter.has(m[2]!.toUpperCase()));
    const same = rows.filter((m) => m[3]!.trim().toLowerCase().replace(/[.]$/, '') === byLetter.get(m[2]!.toUpperCase())!.replace(/[.]$/, ''));
    if (same.length >= 2 && same.length === rows.length) for (const m of same) echo.push([m.index! + m[1]!.length, m.index! + m[0].length]);
  }
  // The same on one line: "A) 12  B) 15  C) 18  D) 21".
  if (echo.length < 2) {
    echo.length = 0;
    const lower = t.toLowerCase();
    for (const o of options) {
      // Compiling a Unicode regex per option costs ~0.1 ms a sample (issue 22); skip it when the option
      // text cannot occur. Conservative: only ASCII texts, and only without U+017F (ſ), the one
      // character that case-folds to ASCII under /iu (s) but lower-cases to itself.
      const text = o.text.trim();
      if (text && ASCII.test(text) && !t.includes('\u017f') && !lower.includes(text.toLowerCase())) continue;
      const re = echoPattern(o.letter, text);
      const all = [...t.matchAll(re)];
      if (all.length === 1) echo.push([all[0]!.index!, all[0]!.index! + all[0]![0].length]);
    }
    // Only matches that share a line are an echo ("C. Vitamin C" then "- A: Vitamin A deficiency …" on
    // other lines is an answer followed by notes on the others).
    const lineOf = (i: number) => t.slice(0, i).split('\n').length;
    const counts = new Map<number, number>();
    for (const [a] of echo) counts.set(lineOf(a), (counts.get(lineOf(a)) ?? 0) + 1);
    const kept = echo.filter(([a]) => counts.get(lineOf(a))! >= 2);
    echo.length = 0;
    echo.push(...kept);
    if (echo.length < 2) return t;
  }
  // Table bars are kept, so a restated table still has its shape (cells counted by the cut-off check).
  // /9: assembled in one pass (re-joining the whole text per echoed row was quadratic: 40,000 echoed rows took 4 s).
  echo.sort((x, y) => x[0] - y[0]);
  const parts: string[] = [];
  let pos = 0;
  for (const [a, b] of echo) {
    const from = Math.max(a, pos);
    if (b <= from) continue;
    parts.push(t.slice(pos, from), t.slice(from, b).replace(/[^|]/g, ' '));
    pos = b;
  }
  parts.push(t.slice(pos));
  return parts.join('');
}

function sentenceEnd(t: string, from: number): number {
  const m = /[.!?\n]/.exec(t.slice(from));
  return m ? from + m.index + 1 : t.length;
}

/**
 * A letter token at `i` is acceptable as an answer when it stands alone: not inside a word, and
 * (lower case) not followed by a word, or (upper case "A"/"I") not an article/pronoun.
 */
function letterOk(t: string, i: number, letters: string[]): boolean {
  const c = t[i]!;
  if (!letters.includes(c.toUpperCase())) return false;
  // Letters of scripts written without spaces (Chinese, Japanese) may touch an option letter: "答案是A。".
  // An apostrophe is part of a word only after a letter ("don't"); after a space or "=" it is a quote ("answer = 'c'").
  // A letter glued to a degree sign is a unit ("100°C", NFKC of "100℃"), never an option (/8).
  if (i > 0 && /[°º]/.test(t[i - 1]!)) return false;
  if (i > 0 && /[\p{L}\p{N}'-]/u.test(t[i - 1]!) && !NO_SPACE_SCRIPT.test(t[i - 1]!) && !(t[i - 1] === "'" && !/[\p{L}\p{N}]/u.test(t[i - 2] ?? ''))) return false;
  const next = t.slice(i + 1, i + 40);
  if (/^[\p{L}\p{N}]/u.test(next) && !NO_SPACE_SCRIPT.test(next[0]!)) return false;
  if (/^-\p{L}/u.test(next)) return false;
  const word = /^\s+([a-z][\w']*)/.exec(next);
  if (c === c.toLowerCase()) return !word; // "a question", "b cells": not answers
  if (word && (c === 'A' || c === 'I')) return LETTER_FOLLOWERS.has(word[1]!);
  return true;
}
// /8: Korean particles attach to what they follow ("정답은 B입니다"), and Thai is written without spaces.
const NO_SPACE_SCRIPT = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}]/u;

/** Words that follow a letter used as an option name ("A is wrong", "A or C"), not as an article. */
const LETTER_FOLLOWERS = new Set(['is', 'was', 'seems', 'looks', 'might', 'could', 'would', 'and', 'or', 'because', 'since', 'as', 'are', 'can', 'cannot', 'does', 'doesn\'t', 'isn\'t', 'also', 'too', 'only', 'though', 'but', 'then', 'here', 'in', 'for', 'with', 'at', 'if', 'fits', 'matches', 'reflects', 'relies', 'assumes', 'through', 'thru', 'to']);

// The final-answer forms depend on nothing but the text: compiled once (/9; compiling them per answer was a
// quarter of the cost of a short answer). matchAll works on a copy, so sharing the /g patterns is safe.
const EXPLICIT_FORMS = ((): { rule: string; re: RegExp }[] => {
  const L = '([A-Za-z])';
  // Bounded quantifiers throughout: a hostile answer (long runs of spaces or quotes) must not make matching super-linear.
  const pre = `["'(\\[{<\\s]{0,8}(?:option|choice|letter)?\\s{0,4}["'(\\[]{0,3}`;
  return [
    { rule: 'explicit: answer is', re: new RegExp(`\\b(?:final answer|correct answer|right answer|best answer|my answer|the answer|answer|(?:my |best |educated )+guess|correct option|right option|best option|correct choice|best choice|correct letter|final choice|(?:closest|nearest|best[- ]matching|most (?:likely|plausible|accurate|appropriate)) (?:option|answer|choice|match)|final)["']?\\s{0,4}(?:(?:is|was|would be|should be|will be|must be)\\s{0,2}:?|:=|=>|->|→|[:=\\-–—]|\\n)\\s{0,8}(?:probably|likely|clearly|therefore|then)?${pre}${L}`, 'gi') },
    { rule: 'explicit: answer X', re: new RegExp(`\\banswer\\s{1,4}${L}(?=\\s{0,4}(?:[.!)\\]]|$))`, 'gi') },
    { rule: 'explicit: boxed', re: new RegExp(`\\\\boxed\\{\\s{0,4}(?:\\\\text\\{)?\\s{0,4}${L}`, 'g') },
    // A structured field named for the answer: {"selected_option": "c"}, "choice": "B".
    { rule: 'explicit: answer field', re: new RegExp(`"[\\w -]{0,30}(?:answer|option|choice|selection|selected|letter)[\\w -]{0,30}"\\s{0,4}:\\s{0,4}"\\s{0,4}\\(?${L}\\)?\\s{0,4}"`, 'gi') },
    // Any tag named for the answer: <answer>, <final>, <final_answer>, <choice>, <selected_option> (/7 widens <answer>).
    { rule: 'explicit: answer tag', re: new RegExp(`<[\\w-]{0,20}(?:answer|final|choice|option|select)[\\w-]{0,20}>\\s{0,4}\\(?${L}`, 'gi') },
    { rule: 'explicit: I choose', re: new RegExp(`\\b(?:i(?:'d| would| will|'ll)? (?:choose|pick|select|go with|say|answer|opt for|lean towards|lean toward)|i (?:think|believe) (?:it(?:'s| is)|the answer is)|going with|i(?:'m| am) going with)${pre}${L}`, 'gi') },
    { rule: 'explicit: is option X', re: new RegExp(`\\b(?:is|as|be|:)\\s{1,4}(?:option|choice)\\s{1,4}\\(?${L}`, 'gi') },
    { rule: 'explicit: so X', re: new RegExp(`\\b(?:so|thus|therefore|hence|i\\.e\\.|ergo)[,:]?\\s{1,4}(?:it(?:'s| is)\\s{1,4}|the answer(?:'s| is)?\\s{1,4})?\\(?${L}(?=\\s{0,4}(?:[.!):\\]]|$))`, 'gi') },
    { rule: 'explicit: correction', re: new RegExp(`\\b(?:actually|i mean|correction|on second thought)[,:]?\\s{1,4}(?:it(?:'s| is)\\s{1,4})?(?:option\\s{1,4})?\\(?${L}(?=\\s{0,4}(?:[.!)\\]]|$))`, 'gi') },
    { rule: 'explicit: X is correct', re: new RegExp(`(?:^|[\\s(\\[])(?:option\\s{1,4}|choice\\s{1,4})?\\(?${L}\\)?\\s{1,4}(?:is|would be|seems|looks)\\s{1,4}(?:the\\s{1,4})?(?:correct|right|best|most (?:likely|accurate|appropriate)|(?:correct |right |best |final )?answer)\\b`, 'gi') },
    { rule: 'explicit: option marked correct', re: new RegExp(`(?:^|\\n)[ \\t]{0,8}(?:[-*•|][ \\t]{1,8})?(?:option\\s{1,4})?\\(?${L}\\)?[ \\t]{0,8}[-–—:|][ \\t]{0,8}(?:correct|right|true)\\b|(?:^|\\n)[ \\t]{0,8}(?:[-*•][ \\t]{1,8})?\\(?${L}\\)?[ \\t]{0,8}[-–—:]?[ \\t]{0,8}[✅✔☑]`, 'gi') },
    { rule: 'explicit: X is my answer', re: new RegExp(`(?:^|[\\s(\\[])(?:option\\s{1,4}|choice\\s{1,4})?\\(?${L}\\)?\\s{1,4}is\\s{1,4}my\\s{1,4}(?:final\\s{1,4})?(?:answer|choice)\\b`, 'gi') },
    { rule: 'explicit: conclusion', re: new RegExp(`\\b(?:has to be|have to be|must be|needs to be|leaves(?: us with)?|leaving(?: us with)?|left with)\\s{1,4}(?:option\\s{1,4}|choice\\s{1,4})?\\(?${L}(?=\\s{0,4}(?:[.!)\\]]|$))`, 'gi') },
    // /7: only where "it"/"that" opens a clause ("so it's B", "I think it is B"), not "the one after it is C".
    { rule: 'explicit: it is X', re: new RegExp(`(?:^|[.!?,;:\\n—–(]\\s{0,4}|\\b(?:so|then|thus|therefore|hence|think|believe|guess|yes|no|maybe|probably|surely|clearly|definitely|say|sure|and)\\s{1,4})(?:it(?:'s| is)|that(?:'s| is))\\s{1,4}\\(?${L}(?=\\s{0,4}(?:[.!)\\]]|$))`, 'gi') },
  ];
})();

function explicitHits(t: string, letters: string[]): Hit[] {
  const hits: Hit[] = [];
  for (const { rule, re } of EXPLICIT_FORMS) {
    for (const m of t.matchAll(re)) {
      // A form with two alternatives captures in either group ("B ✔" uses the second; /7 crashed on it).
      const c = (m[1] ?? m[2])!;
      const at = m.index! + m[0].lastIndexOf(c);
      // A letter that is not an option: only an explicit claim if it looks like one (upper case, standing alone).
      if (!letters.includes(c.toUpperCase())) {
        if (c === c.toUpperCase() && /^(?:[\s.!)\]]|$)/.test(t.slice(at + 1, at + 2)) && rule === 'explicit: answer is') hits.push({ letter: c, rule, index: m.index!, end: at + 1, matched: m[0] });
        continue;
      }
      if (!letterOk(t, at, letters)) continue;
      hits.push({ letter: c.toUpperCase(), rule, index: m.index!, end: at + 1, matched: m[0] });
    }
  }
  // /8: verdict marks on rows of two different options are no single verdict ("- A ✅\n- D ✅").
  const marked = new Set(hits.filter((h) => h.rule === 'explicit: option marked correct').map((h) => h.letter));
  if (marked.size > 1) return explicitHitsFiltered(t, hits.filter((h) => h.rule !== 'explicit: option marked correct'));
  return explicitHitsFiltered(t, hits);
}

function explicitHitsFiltered(t: string, allHits: Hit[]): Hit[] {
  // /8: "whether A or B is right", "if C is correct": the verdict form inside a condition, or one of a
  // coordinated pair, judges nothing.
  const hits = allHits.filter((h) => !(/^explicit: X is (?:correct|my answer)/.test(h.rule) && (conditionalClause(t, h.index + 1) || /\b[A-Z]\)?\s{0,3}(?:or|and|\/)\s{0,3}(?:option\s{1,3})?\(?\s{0,2}$/.test(t.slice(Math.max(0, h.index - 16), h.end - 1)))));
  // /7: "if you count from the outside, the answer would be C" is a supposition, not a final answer.
  return hits.filter((h) => !(/\bwould\b/i.test(h.matched) && /\b(?:if|unless|suppose|supposing|assuming)\b/i.test(t.slice(Math.max(...['.', '!', '?', '\n'].map((c) => t.lastIndexOf(c, h.index - 1))) + 1, h.index)))).sort((a, b) => a.end - b.end);
}

/**
 * What follows an explicit answer. A later sentence opened by a revision marker ("hmm", "wait", "no",
 * "actually", "on reflection") that commits to another option is a self-correction: that option (/7:
 * "The answer is C. Hmm, on reflection, B is better", "I'll say C… actually, make that A"). One that names
 * other options without committing takes the answer back ("Final answer: A. Hmm, no — B and C are both
 * reasonable"): 'withdrawn'. Otherwise null: the answer stands.
 */
function afterAnswer(t: string, h: Hit, letters: string[], options: readonly ShownOption[]): Hit | 'withdrawn' | null {
  const rest = t.slice(h.end);
  const m = /(?:^|[.!?\n;—–]\s{0,4})(?:hmm+|wait|no|actually|on second thought|on reflection|scratch that|then again|correction|make that)\b/i.exec(rest);
  if (!m) {
    // A contrast overrides with a commitment of its own ("A looks right at first, but the answer is B"); one
    // that only ends on another option ("However, some older textbooks list C") leaves two readings, so
    // none; one that speaks of mistakes ("…, but a common mistake is to pick C") leaves the answer.
    const c = /(?:^|[,.;!?\n—–]\s{0,4})(?:but|however|yet)\b/i.exec(rest);
    const k = c ? conclusionHit(t, letters, options, h.end + c.index, true) : null;
    if (!k || k.letter === h.letter) return null;
    return k.rule.startsWith('conclusion: the option the last sentence commits') ? k : 'withdrawn';
  }
  const from = h.end + m.index;
  const c = conclusionHit(t, letters, options, from);
  if (c) return c.letter === h.letter ? null : c;
  const later = letterMentions(t, letters).filter((x) => x.index >= from && x.letter !== h.letter && !negated(t, x) && !inQuestion(t, x));
  return later.length ? 'withdrawn' : null;
}

/**
 * "Answer: B\nAnswer: D": two final-answer statements for different letters with nothing but spacing
 * or punctuation between them, and the second not marked as final or as a correction.
 */
function conflicting(t: string, p: Hit, h: Hit): boolean {
  if (!/^[\s.,;:)\]"'*_-]*$/.test(t.slice(p.end, h.index))) return false;
  return !/\b(?:final|actually|correction|instead|rather)\b/i.test(h.matched);
}

/** "The answer is A or C": an explicit statement immediately followed by an alternative is not a commitment. */
function hedgedAfter(t: string, h: Hit, letters: string[]): boolean {
  const m = /^["'\])]{0,3}\s{0,4}(?:or|\/|and|,(?:\s{0,4}(?:or|and))?)\s{0,4}(?:(?:maybe|perhaps|possibly|even|probably)\s{1,4})?["'([]{0,3}(?:option\s{1,4})?\(?([A-Za-z])(?![\p{L}])/u.exec(t.slice(h.end, h.end + 40));
  if (!m || !letters.includes(m[1]!.toUpperCase()) || m[1]!.toUpperCase() === h.letter) return false;
  // After a bare comma only an upper-case letter standing alone is another option ("Answer: A, C"), not an article ("B, a bird").
  return !m[0].trimStart().startsWith(',') || m[1] === m[1]!.toUpperCase();
}

function leadingHit(t: string, letters: string[], options: readonly ShownOption[]): Hit | null {
  // /7: a letter alone on the first line may carry trailing spaces (left by blanked emphasis: "**B**\n\nHere is why…").
  const m = /^[\s"'(\[{]*(?:option\s+|choice\s+)?\(?([A-Za-z])(?:[.):\]\n]|[ \t]{1,8}\n|\s*[-–—]\s|\s*$)/i.exec(t);
  if (m) {
    const at = m[0].lastIndexOf(m[1]!);
    const c = m[1]!;
    if (letters.includes(c.toUpperCase()) && (c === c.toUpperCase() || /^[.):\]]?\s*(?:$|\n)/.test(t.slice(at + 1)) || /^[.):\]]/.test(t.slice(at + 1)))) {
      // "A. Wait…" style self-corrections are handled by explicit statements, which come first.
      return { letter: c.toUpperCase(), rule: 'leading letter', index: at, end: at + 1, matched: m[0] };
    }
  }
  // "No — that's a myth" when exactly one option opens with "No" (and one with "Yes"): that option.
  const yn = /^[\s"'(\[{]*(yes|no)(?=\s{0,4}(?:[,.!;:—–-]|$))/i.exec(t);
  if (yn && !DECLINE.test(t)) {
    const word = yn[1]!.toLowerCase();
    const starts = (o: ShownOption, w: string) => new RegExp(`^\\s*${w}\\b`, 'i').test(o.text);
    const same = options.filter((o) => starts(o, word));
    if (same.length === 1 && options.some((o) => starts(o, word === 'yes' ? 'no' : 'yes'))) {
      const at = yn[0].length - yn[1]!.length;
      return { letter: same[0]!.letter.toUpperCase(), rule: 'leading yes/no (options open with yes/no)', index: at, end: at + yn[1]!.length, matched: yn[1]! };
    }
  }
  // "B The grandfather", "b orange": a letter followed by its option's text.
  const m2 = /^[\s"'(\[{]*\(?([A-Za-z])[.):\]]?\s+(.+)/is.exec(t);
  if (m2 && letters.includes(m2[1]!.toUpperCase())) {
    const opt = options.find((o) => o.letter.toUpperCase() === m2[1]!.toUpperCase());
    if (opt && m2[2]!.toLowerCase().startsWith(opt.text.toLowerCase())) {
      const at = m2[0].indexOf(m2[1]!);
      return { letter: m2[1]!.toUpperCase(), rule: 'leading letter with its option text', index: at, end: at + 1, matched: m2[1]! };
    }
  }
  return null;
}

function closingHit(t: string, letters: string[], options: readonly ShownOption[]): Hit | null {
  // Emphasis marks are blanked to spaces, so "Pacific: **D**." leaves spaces before the full stop.
  const m = /(?:^|[.!?\n:—–-])\s{0,8}\(?([A-Z])\)?\s{0,4}[.!]?\s{0,8}$/.exec(t.slice(-40));
  if (!m) return null;
  const at = Math.max(0, t.length - 40) + m.index + m[0].lastIndexOf(m[1]!);
  if (!letters.includes(m[1]!) || !letterOk(t, at, letters)) return null;
  // /9: a letter that ends an option's text ("Vit. C." for "Vitamin C") names that option, not option C.
  if (options.some((o) => o.text.includes(` ${m[1]}`)) && optionTextHits(t, options).some((h) => h.index <= at && h.end > at && h.end - h.index > 1)) return null;
  return { letter: m[1]!, rule: 'closing letter', index: at, end: at + 1, matched: m[0].trim() };
}

/** Option texts (and unknown-type paraphrases) appearing as whole phrases; a text inside a longer matched text does not count. */
// One-entry memo: the conclusion, correction and fallback rules ask for the same text's hits (pure functions; issue 22 cost).
let textHitsMemo: { t: string; options: readonly ShownOption[]; hits: Hit[] } | null = null;
function optionTextHits(t: string, options: readonly ShownOption[]): Hit[] {
  if (textHitsMemo && textHitsMemo.t === t && textHitsMemo.options === options) return textHitsMemo.hits;
  const hits = optionTextHitsUncached(t, options);
  textHitsMemo = { t, options, hits };
  return hits;
}
/** Compiled option-phrase patterns, by phrase (/8; bounded): the same options recur across samples. */
const phrasePatterns = new Map<string, RegExp>();
function optionTextHitsUncached(t: string, options: readonly ShownOption[]): Hit[] {
  const lower = t.toLowerCase();
  const found: Hit[] = [];
  const unknownOpts = options.filter((o) => UNKNOWN_PHRASES.includes(o.text.toLowerCase().trim().replace(/[.]$/, '')));
  for (const o of options) {
    const phrases = new Set([o.text.toLowerCase().trim().replace(/[.]$/, '')]);
    // An article-less form: "grandson" for "The grandson".
    const bare = [...phrases][0]!.replace(/^(?:the|a|an)\s+/, '');
    if (bare.split(/\s+/).length >= 1 && bare.length >= 3) phrases.add(bare);
    if (unknownOpts.length === 1 && unknownOpts[0] === o) for (const p of UNKNOWN_PHRASES) phrases.add(p);
    for (const p of phrases) {
      // The pattern is the literal phrase on the lower-cased text: no substring, no match (skips compiling it).
      if (!p || !lower.includes(p)) continue;
      let re = phrasePatterns.get(p);
      if (!re) {
        if (phrasePatterns.size >= 4096) phrasePatterns.clear();
        re = new RegExp(`(?<![\\p{L}\\p{N}])${esc(p)}(?![\\p{L}\\p{N}]|-\\p{N})`, 'gu');
        phrasePatterns.set(p, re);
      }
      for (const m of lower.matchAll(re)) found.push({ letter: o.letter.toUpperCase(), rule: p === [...phrases][0] || p === bare ? 'option text' : 'option paraphrase (unknown)', index: m.index!, end: m.index! + m[0].length, matched: m[0] });
    }
  }
  found.push(...abbreviatedHits(t, lower, options));
  // Drop matches inside longer ones (e.g. "the man" inside "the muslim man").
  return found.filter((h) => !found.some((o) => o !== h && o.index <= h.index && o.end >= h.end && o.end - o.index > h.end - h.index)).sort((a, b) => a.index - b.index);
}

/**
 * An option's text written short in a short answer (/9): its words in order with one or more long words
 * (five letters or more) cut to a prefix of three letters or more, dot or not, and at least one word in
 * full ("Vit K" for "Vitamin K", "Strep. pneumoniae" for "Streptococcus pneumoniae"); or, as one upper-case
 * token, the initials of its words, an article dropped and small words optionally skipped ("EU" for "The
 * European Union", "WHO", "NZ"). Only in answers of up to 15 words (in longer replies other options are discussed), and not in a text written in capitals
 * (where "US", "IT" are words). Two options written short alike both match, and the reader sees two.
 */
// Per option set (the same options recur across a run's samples; bounded): option words, article dropped, and
// the first three letters of the long words of options of two words or more.
const abbreviationMemo = new Map<string, { optWords: string[][]; stems: string[] }>();
let abbreviationLast: { options: readonly ShownOption[]; v: { optWords: string[][]; stems: string[] } } | null = null;
function abbreviationKeys(options: readonly ShownOption[]): { optWords: string[][]; stems: string[] } {
  if (abbreviationLast?.options === options) return abbreviationLast.v;
  const key = options.map((o) => o.text).join('\u0000');
  let v = abbreviationMemo.get(key);
  if (!v) {
    if (abbreviationMemo.size >= 4096) abbreviationMemo.clear();
    const optWords = options.map((o) => { const ws = o.text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []; return /^(?:the|a|an)$/.test(ws[0] ?? '') ? ws.slice(1) : ws; });
    v = { optWords, stems: [...new Set(optWords.flatMap((ws) => (ws.length >= 2 ? ws.filter((w) => w.length >= 5).map((w) => w.slice(0, 3)) : [])))] };
    abbreviationMemo.set(key, v);
  }
  abbreviationLast = { options, v };
  return v;
}
const ACRONYM_SKIP = new Set(['of', 'and', 'for', 'the', 'on', 'in', 'to', 'de', 'du', 'des', 'la', 'le', 'et', '&']);
function abbreviatedHits(t: string, lower: string, options: readonly ShownOption[]): Hit[] {
  const out: Hit[] = [];
  // Fifteen words take far fewer than 300 characters: a longer text is not tokenised at all.
  if (t.length > 300) return out;
  const { optWords, stems } = abbreviationKeys(options);
  // Cheap gates before tokenising: an upper-case run that could be initials, or the first three letters of a long option word.
  const caps = /\p{Lu}{2}/u.test(t) && /(?<![\p{L}\p{N}])\p{Lu}{2,6}(?![\p{L}\p{N}])/u.test(t);
  const cut = stems.some((x) => lower.includes(x));
  if (!caps && !cut) return out;
  const toks = [...t.matchAll(/[\p{L}\p{N}]+/gu)].map((m) => ({ w: m[0], lw: m[0].toLowerCase(), at: m.index!, end: m.index! + m[0].length }));
  if (toks.length > 15 || !toks.length) return out;
  // Written in capitals: three words or more, most of them in upper case.
  const capsWords = toks.filter((x) => x.w.length >= 2 && /^\p{Lu}+$/u.test(x.w)).length;
  const shouting = capsWords >= 3 && capsWords > toks.length / 2;
  options.forEach((o, k) => {
    const ws = optWords[k]!;
    if (ws.length < 2) return;
    const letter = o.letter.toUpperCase();
    if (caps && !shouting) {
      const inits = new Set([ws.map((w) => w[0]).join(''), ws.filter((w) => !ACRONYM_SKIP.has(w)).map((w) => w[0]).join('')].filter((x) => x.length >= 2));
      for (const x of toks) {
        if (x.w.length < 2 || x.w.length > 6 || x.w !== x.w.toUpperCase() || !/^\p{Lu}+$/u.test(x.w) || !inits.has(x.lw)) continue;
        // Initials that are themselves a word of some option name that, not this one.
        if (optWords.some((v) => v.includes(x.lw))) continue;
        out.push({ letter, rule: 'option text (abbreviated)', index: x.at, end: x.end, matched: t.slice(x.at, x.end) });
      }
    }
    if (!cut || !ws.some((w) => w.length >= 5)) return;
    for (let i = 0; i + ws.length <= toks.length; i++) {
      let short = 0;
      let full = 0;
      let j = 0;
      for (; j < ws.length; j++) {
        const x = toks[i + j]!;
        if (j > 0 && !/^[.\s]{1,3}$/.test(t.slice(toks[i + j - 1]!.end, x.at))) break;
        if (x.lw === ws[j]) full++;
        else if (ws[j]!.length >= 5 && x.lw.length >= 3 && x.lw.length < ws[j]!.length && ws[j]!.startsWith(x.lw)) short++;
        else break;
      }
      if (j < ws.length || !short || !full) continue;
      const last = toks[i + ws.length - 1]!;
      out.push({ letter, rule: 'option text (abbreviated)', index: toks[i]!.at, end: last.end, matched: t.slice(toks[i]!.at, last.end) });
    }
  });
  return out;
}

const STOP = new Set(['the', 'a', 'an', 'of', 'and', 'or', 'with', 'who', 'which', 'that', 'one', 'to', 'in', 'on', 'at', 'for', 'by', 'is', 'was', 'it', 'its', 'man', 'woman', 'person', 'people', 'not', 'no', 'did', 'had', 'has']);
/** Ordinal and number words read as figures, so "4th amendment" names "Fourth Amendment". */
const NUMBER_WORDS: Record<string, string> = Object.fromEntries([
  ...['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth'].map((w, i) => [w, `${i + 1}`]),
  ...['1st', '2nd', '3rd', ...[4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => `${n}th`)].map((w, i) => [w, `${i + 1}`]),
  ...['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'].map((w, i) => [w, `${i + 2}`]),
]);
const contentWordSpans = (s: string) => [...s.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)].map((m) => ({ w: NUMBER_WORDS[m[0]] ?? m[0], at: m.index!, len: m[0].length })).filter(({ w }) => (w.length >= 3 || /^\d+$/.test(w)) && !STOP.has(w));
const contentWords = (s: string) => contentWordSpans(s).map(({ w }) => w);

/**
 * A short answer (≤ 8 words, no letter) naming words that belong to exactly one option's text and to
 * no other ("Autoclaving." for "Autoclaving at 121 °C for 15 minutes"; "The one with the wheelchair."):
 * an unambiguous paraphrase. Longer answers are reasoning, where such words are discussed, not chosen.
 */
function distinctiveWordHit(t: string, options: readonly ShownOption[]): Hit | null {
  const answerWords = contentWordSpans(t);
  if (!answerWords.length || (t.match(/[\p{L}\p{N}]+/gu) ?? []).length > 8) return null;
  // /7: an option is not named by words the answer negates and the option does not ("It doesn't increase the rate").
  const sets = options.map((o) => (NEGATION.test(o.text) === NEGATION.test(t) ? new Set(contentWords(o.text)) : new Set<string>()));
  const owners = new Set<number>();
  let first: { at: number; len: number } | null = null;
  for (const { w, at, len } of answerWords) {
    const has = sets.map((s, i) => (s.has(w) ? i : -1)).filter((i) => i >= 0);
    if (has.length === 1) {
      owners.add(has[0]!);
      first ??= { at, len };
    }
  }
  if (owners.size !== 1 || !first) return null;
  const o = options[[...owners][0]!]!;
  return { letter: o.letter.toUpperCase(), rule: 'option words (short answer)', index: first.at, end: first.at + first.len, matched: t.slice(first.at, first.at + first.len) };
}

function optionTextStatement(t: string, options: readonly ShownOption[]): Hit | null {
  const hits = optionTextHits(t, options);
  // /9: not when another option follows as an alternative ("Answer: 0.3 or 0.4") or the text is the subject
  // of what follows ("Answer: 0.4 is what the naive sum gives; …").
  const stmts = hits.filter((h) => /\b(?:answer|answer is|correct answer is|choice is|option is|i choose|i pick|i'd go with|i would go with|it(?:'s| is)|that(?:'s| is))\s*[:\-–—]?\s*["'(]?$/i.test(t.slice(Math.max(0, h.index - 40), h.index)) && !conditionalClause(t, h.index)
    && !/^["')]?\s{0,3}(?:or|\/|is|was|would be|seems|looks)\b/i.test(t.slice(h.end, h.end + 16)));
  if (!stmts.length) return null;
  const h = stmts[stmts.length - 1]!;
  return { ...h, rule: `explicit: answer is (${h.rule})` };
}

/** /8: a letter attributed to others ("Some would say B", "many students pick C", "your doctor may recommend B") is not the reply's own. */
const ATTRIBUTED = /(?:\b(?:some|many|others|most|people|students|critics|a few)\b(?:\s{1,3}[\w']{1,15}){0,2}?\s{1,3}(?:(?:would|might|may|could|often|will|usually|tend to)\s{1,3})?|\b(?:they|doctors?|clinicians?|physicians?|pharmacists?|experts?|lawyers?|attorneys?)\b(?:\s{1,3}[\w']{1,15}){0,2}?\s{1,3}(?:would|might|may|could|will|can)\s{1,3})(?:say|argue|think|pick|choose|claim|suggest|believe|answer|go with|opt for|recommend|prescribe|advise|use)s?\s{1,3}(?:that\s{1,3})?(?:it(?:'s| is)\s{1,3})?(?:option\s{1,3})?\(?$/i;
// Whether the text has any word that can attribute a view to others: one test per text (memo), not per mention.
let attributableMemo: { t: string; v: boolean } | null = null;
function attributable(t: string): boolean {
  if (attributableMemo?.t !== t) attributableMemo = { t, v: /\b(?:some|many|others|most|people|students|critics|few|they|doctors?|clinicians?|physicians?|pharmacists?|experts?|lawyers?|attorneys?)\b/i.test(t) };
  return attributableMemo.v;
}
function negated(t: string, m: Hit): boolean {
  // Letters only: "Doctors recommend heparin" states the content; "they may recommend B" reports a view.
  if (m.rule === 'letter mention' && attributable(t) && ATTRIBUTED.test(t.slice(Math.max(0, m.index - 60), m.index))) return true;
  const before = t.slice(Math.max(0, m.index - 16), m.index).toLowerCase();
  const after = t.slice(m.end, m.end + 40).toLowerCase();
  // /7: "neither"; and an option judged a distractor rather than wrong ("B is a common misconception", "D is tempting").
  // /9: an article may stand between ("not the EU", where the abbreviated text starts after "the").
  return /(?:\bnot|n't|\bnever|\bexcept|\bexclude|\bnor|\bneither|rather than|instead of)\s{0,3}(?:(?:the|a|an)\s{1,3})?(?:option\s{1,3})?\(?$/.test(before) || /^\)?\s{1,3}(?:is|was|seems|looks|sounds)\s{1,3}(?:(?:a|an|the|just|only|merely|clearly|obviously)\s{1,3})?(?:(?:common|classic|popular|obvious|plausible|tempting)\s{1,3})?(?:wrong|incorrect|not|false|unlikely|ruled out|tempting|distractor|misconception|trap|red herring|implausible|out)\b/.test(after);
}

/**
 * A thinking trace (<think>…</think>, <thinking>, <reasoning>, <thought>; or a lone closing tag whose
 * opening the chat template supplied): the answer is what follows it, so when something follows, the
 * trace is blanked (offsets kept) and `after` is where the answer starts; when nothing follows, only the
 * tags are blanked and the trace itself is read (/7).
 */
function blankThinking(t: string): { t: string; after: number } {
  const close = /<\/(?:think|thinking|reasoning|thought)>/gi;
  let end = -1;
  for (const m of t.matchAll(close)) end = m.index! + m[0].length;
  if (end < 0) return { t, after: -1 };
  if (t.slice(end).trim()) return { t: t.slice(0, end).replace(/[^\n]/g, ' ') + t.slice(end), after: end };
  return { t: t.replace(/<\/?(?:think|thinking|reasoning|thought)>/gi, (x) => ' '.repeat(x.length)), after: -1 };
}

const ORDINAL_WORDS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth'];
const ORDINAL_FIGURES = ['1st', '2nd', '3rd', '4th', '5th', '6th', '7th', '8th', '9th', '10th'];
const CARDINAL_WORDS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
/**
 * Options named by position (/7): "the second option", "the last one", "the 3rd choice", "option two".
 * A position word alone ("Second, Venus…") or "the first one to leave" names no option.
 */
function ordinalMentions(t: string, letters: string[]): Hit[] {
  const out: Hit[] = [];
  if (letters.length === 2) {
    // With two options, "the former" / "the latter" name them.
    for (const m of t.matchAll(/\b(?:the\s{1,3})?(former|latter)\b(?!\s{1,3}(?:is|was)\s{1,3}(?:wrong|incorrect|false))/gi)) {
      out.push({ letter: letters[m[1]!.toLowerCase() === 'former' ? 0 : 1]!, rule: 'option named by position', index: m.index!, end: m.index! + m[0].length, matched: m[0] });
    }
  }
  // /9: other nouns for an option ("the first answer choice", "the third item in the list", "answer option two");
  // "answer" alone is not one ("my first answer was B").
  const re = /\b(?:(?:the\s{1,3})?(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|[4-9]th|10th|last|final)\s{1,3}(?:answer\s{1,3}(?:option|choice)s?|(?:listed\s{1,3})?(?:option|choice|alternative|one|item)s?)|(?:option|choice|alternative|answer\s{1,3}(?:option|choice))\s{1,3}(?:number\s{1,3})?(one|two|three|four|five|six|seven|eight|nine|ten))\b(?!\s{1,3}(?:to|who|that|which|of|on)\b|\s{1,3}in\b(?!\s{1,3}(?:the\s{1,3})?(?:list|options|choices)\b))/gi;
  for (const m of t.matchAll(re)) {
    const w = (m[1] ?? m[2])!.toLowerCase();
    // "the final one" names the last option; "final" before anything else ("final answer") is not matched here.
    const pos = w === 'last' || w === 'final' ? letters.length - 1 : Math.max(ORDINAL_WORDS.indexOf(w), ORDINAL_FIGURES.indexOf(w), CARDINAL_WORDS.indexOf(w));
    if (pos < 0 || pos >= letters.length) continue;
    // /9: an ordinal coordinated with it shares its noun ("the first or (the) second answer choice", "the
    // first and third options"): it names an option too.
    const co = m[1] ? /\b(?:the\s{1,3})?(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|[4-9]th|10th)\s{0,3}(?:,|or|and|&|\/)\s{0,3}(?:the\s{1,3})?$/i.exec(t.slice(Math.max(0, m.index! - 30), m.index!)) : null;
    if (co) {
      const p = Math.max(ORDINAL_WORDS.indexOf(co[1]!.toLowerCase()), ORDINAL_FIGURES.indexOf(co[1]!.toLowerCase()));
      const at = Math.max(0, m.index! - 30) + co.index;
      if (p >= 0 && p < letters.length) out.push({ letter: letters[p]!, rule: 'option named by position', index: at, end: at + co[0].trimEnd().length, matched: co[0].trim() });
    }
    out.push({ letter: letters[pos]!, rule: 'option named by position', index: m.index!, end: m.index! + m[0].length, matched: m[0] });
  }
  return out;
}

/**
 * The reply walks through the options in their shown order as labels ("A: … B: … C: …", at line or
 * sentence starts, from the first option, three or more of them): its opening letter is a label, not an
 * answer. Not when the opening line is the letter with its own option's text (an answer, then notes).
 */
function enumerated(t: string, letters: string[], options: readonly ShownOption[]): boolean {
  const labels: string[] = [];
  for (const m of t.matchAll(/(?:^|\n|[.!?]\s{1,4})[ \t]{0,8}(?:[-*•][ \t]{1,4})?(?:option\s{1,4})?\(?([A-Z])\s{0,2}[.):]\s/g)) {
    if (letters.includes(m[1]!)) labels.push(m[1]!);
  }
  if (labels.length < Math.min(3, letters.length) || labels[0] !== letters[0]) return false;
  for (let i = 0; i < Math.min(3, labels.length); i++) if (labels[i] !== letters[i]) return false;
  const first = /^[\s"'(\[{]*\(?[A-Z][.):]?[ \t]*([^\n]*)/.exec(t);
  const own = options[0]!.text.trim().toLowerCase().replace(/[.]$/, '');
  return !(first && stripEnd(first[1]!.trim().toLowerCase(), /[.\s]/) === own);
}

const UNDECIDED = /\b(?:hard|difficult|impossible|tough) to (?:say|tell|decide|choose)\b|\b(?:can't|cannot|can not|couldn't) (?:decide|choose|pick)\b|\bnot sure which\b|\bno idea\b|\bwho knows\b|\b(?:could|can) go either way\b/i;
const HEDGE = /\b(?:maybe|perhaps|possibly|might|could|unsure|not sure|not certain|uncertain|either|torn|can't decide|cannot decide|hard to say|also|too|as well|equally|likewise)\b|\?["')\s]*$/i;
/** A sentence that is a condition or a supposition ("If the question meant…, it would be D"). */
const SUPPOSING = /^[\s"'(*_]*(?:if|unless|suppose|supposing|assuming|whether|were|had)\b/i;
const AGAINST = /\b(?:wrong|incorrect|false|tempting|distractor|misconception|trap|eliminated?|ruled? out|unlikely|implausible|mistake|mistaken|error|confuse[sd]?|not|never|isn't|doesn't|wasn't|aren't)\b/i;
/** The sentence names option X's own text before "is X": a label ("Earth … is C"), not a conclusion. */
function labels(t: string, from: number, x: Hit, options: readonly ShownOption[]): boolean {
  const o = options.find((y) => y.letter.toUpperCase() === x.letter);
  if (!o) return false;
  const subject = t.slice(from, x.index);
  if (!/\b(?:is|are|was|=)\s{0,3}(?:option\s{1,3})?["'(]?\s{0,3}$/i.test(subject)) return false;
  return optionTextHits(subject, [o]).length > 0;
}
const COMMIT = /\b(?:réponse|respuesta|risposta|resposta|antwort|correct[aeo]|corretta|richtig|donc|por lo tanto|portanto|quindi|daher|answer|correct|right|best|better|preferred|recommended|first[- ]line|treatment of choice|drug of choice|fits?|matche?s?|remains?|left|chose|choose|choosing|choice|pick|picked|select|selected|go(?:ing)? with|lean(?:ing)?|opt(?:ing)?|arrive|points? to|pointing to|the one|conclude|conclusion|verdict|result|therefore|thus|hence|so|must|has to|final|accurate|valid|appropriate|describes?|described|applies|works|wins|it(?:'s| is)|i'd say|i would say|make (?:that|it))\b/i;
/**
 * Mentions inside a comparison frame ("between A and D", "comparing B with C", "both A and B") are
 * discussed, not chosen. One pass over the mentions in order (linear: a hostile run of mentions must not
 * make it quadratic): a mention opens a frame after a frame word when the next mention is joined to it by
 * a coordinator; a mention joined to a framed one by a coordinator is framed too.
 */
const FRAME_OPEN = /\b(?:between|comparing|compared|compare|of|from|among|both|weighing|considering|versus|vs\.?)\s{1,3}(?:options?\s{1,3})?\(?$/i;
const FRAME_JOIN = /^\)?\s{0,3}(?:,|and|&|or|with|vs\.?|versus|to)\s{0,3}(?:option\s{1,3})?\(?$/i;
function framedSet(t: string, ms: Hit[]): Set<Hit> {
  const out = new Set<Hit>();
  const joined = (a: Hit, b: Hit) => b.index - a.end < 24 && b.index >= a.end && FRAME_JOIN.test(t.slice(a.end, b.index));
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i]!;
    const prev = ms[i - 1];
    const next = ms[i + 1];
    if (prev && out.has(prev) && joined(prev, m)) out.add(m);
    else if (next && joined(m, next) && FRAME_OPEN.test(t.slice(Math.max(0, m.index - 40), m.index))) out.add(m);
  }
  return out;
}

/**
 * The last committed answer: the last sentence (or, failing that, its last clause) that names an option,
 * read when, after discounting mentions that rule an option out or only compare it, exactly one option
 * is left in it, the sentence does not hedge, and the option either closes the sentence (not as the end
 * of a list: "…, option C.", "…is **D**.") or the sentence commits ("only C remains", "B matches best").
 * Only mentions from `from` on count.
 */
function conclusionHit(t: string, letters: string[], options: readonly ShownOption[], from: number, overriding = false): Hit | null {
  // A letter inside an option's text ("vitamin C" when "Vitamin C" is option B) names that text, not option C.
  const spans = optionTextHits(t, options);
  const all = letterMentions(t, letters).filter((m) => m.index >= from && !spans.some((s) => s.index <= m.index && s.end >= m.end));
  if (!all.length) return null;
  const last = all[all.length - 1]!;
  const boundary = (s: string) => Math.max(...['.', '!', '?', '\n', ';'].map((c) => s.lastIndexOf(c)));
  // The sentence: from the last boundary before the mention (a full stop straight after a letter, "B.", ends its sentence).
  let sStart = Math.max(from, boundary(t.slice(0, last.index)) + 1);
  // An ellipsis or a sentence going on in lower case ("Maybe B... or C.") continues the sentence before; so
  // does one opening with "Or", which offers an alternative to it ("Maybe A? Or C.", /9).
  // (At most three steps back: a hostile run of ellipses must not make this quadratic.)
  for (let k = 0; k < 3 && sStart > from + 1 && (/\.\.$/.test(t.slice(Math.max(0, sStart - 3), sStart)) || /^\s{0,3}(?:or|and|but|Or)\b/.test(t.slice(sStart))); k++) sStart = Math.max(from, boundary(stripEnd(t.slice(0, sStart - 1), /\./)) + 1);
  const tail = /[.!?\n;]/.exec(t.slice(last.end));
  const sEnd = tail ? last.end + tail.index : t.length;
  // A sentence opened by an item label ("C: 7 — correct") starts at the label.
  const scopes: [number, number][] = [[sStart, sEnd]];
  const sentence = t.slice(sStart, sEnd);
  const cl = [...sentence.matchAll(/,\s{0,3}(?=(?:but|so|and so|thus|hence|therefore|which means|making|meaning|whereas|while)\b)|\s[—–-]\s|[—–]/gi)].filter((c) => sStart + c.index! < last.index).pop();
  if (cl) scopes.push([sStart + cl.index! + cl[0].length, sEnd]);
  for (const [a, b] of scopes) {
    const inScope = all.filter((m) => m.index >= a && m.end <= b);
    const frame = framedSet(t, inScope);
    const live = inScope.filter((m) => !negated(t, m) && !frame.has(m));
    if (new Set(live.map((m) => m.letter)).size !== 1) continue;
    const x = live[live.length - 1]!;
    const scope = t.slice(a, b + 1);
    if (HEDGE.test(scope) || HEDGE.test(t.slice(sStart, sEnd + 1)) || SUPPOSING.test(t.slice(sStart, sEnd)) || conditionalClause(t, x.index)) return null;
    const rest = t.slice(x.end, b);
    if (AGAINST.test(rest)) continue;
    // Overriding an explicit answer takes a sentence that does not speak of mistakes ("…, but a common mistake is to pick C").
    if (overriding && AGAINST.test(scope)) continue;
    const closes = /^[\s)\]"'*_.!:]*$/.test(t.slice(x.end, sEnd + 1).replace(/[\n]$/, '')) && !/(?:\b[A-Z]\)?|\))\s{0,3}(?:,|and|&|or|\/)\s{0,3}(?:option\s{1,3})?\(?$/.test(t.slice(Math.max(0, x.index - 16), x.index));
    // "Earth, the third planet, is C" (C = Earth) says which letter an option is, not that it is the answer.
    if (labels(t, a, x, options)) continue;
    if (closes) return { ...x, rule: 'conclusion: the option closing the last sentence' };
    if (COMMIT.test(scope)) return { ...x, rule: 'conclusion: the option the last sentence commits to' };
  }
  return null;
}

/**
 * Two different options joined by "or" / "and" / "," / "/" in a sentence that hedges or weighs them ("It
 * could be A or E", "Both A and D have some merit", "either B or C") (/8): the pair, else null.
 */
function hedgedPair(t: string, ms: Hit[]): [Hit, Hit] | null {
  for (let i = 1; i < ms.length; i++) {
    const [a, b] = [ms[i - 1]!, ms[i]!];
    if (a.letter === b.letter || b.index - a.end > 16 || !/^\)?\s{0,3}(?:,|and|&|or|\/)\s{0,3}(?:option\s{1,3})?\(?$/i.test(t.slice(a.end, b.index))) continue;
    const bd = bounds(t);
    const sentence = t.slice(bd.prev(a.index) + 1, bd.next(b.end) + 1);
    if (HEDGE.test(sentence) || /\b(?:both|either|merit|plausible|possible|defensible|arguable)\b/i.test(sentence)) return [a, b];
  }
  return null;
}

/** An option's text stated as the complement of "is/are/was" and closing its clause ("the capital is Canberra;"). */
function complement(t: string, h: Hit): boolean {
  const a = Math.max(...['.', '!', '?', '\n', ';'].map((c) => t.lastIndexOf(c, h.index - 1))) + 1;
  if (HEDGE.test(t.slice(a, sentenceEnd(t, h.end)))) return false;
  const before = t.slice(Math.max(0, h.index - 40), h.index);
  // "…, but so is 2" / "as is 2" adds an alternative; it states nothing (/8).
  if (/\b(?:so|as|neither|nor)\s{1,3}(?:is|are|was|were)\s{1,3}["'(]?$/i.test(before)) return false;
  return /\b(?:is|are|was|were|be)\s{1,3}(?:(?:the|therefore|clearly|indeed|actually|probably)\s{1,3}){0,2}["'(]?$/i.test(before)
    && /^["')]?\s{0,3}(?:[.;,!\n—–]|$)/.test(t.slice(h.end, h.end + 4)) && !conditionalClause(t, h.index) && !negatedClause(t, h.index);
}

/** Token comparison tolerant of spelling: British/American forms, one slip in a long word, inflection. */
const canon = (w: string) => w.normalize('NFD').replace(/\p{M}/gu, '').replace(/ph/g, 'f').replace(/ae|oe/g, 'e').replace(/our\b/g, 'or').replace(/is(e|ed|es|ing|ation)\b/g, 'iz$1').replace(/ys(e|ed|es|ing)\b/g, 'yz$1');
function nearWord(a: string, b: string): boolean {
  if (a === b) return true;
  const [s, l] = a.length <= b.length ? [a, b] : [b, a];
  if (s.length >= 4 && l.startsWith(s) && l.length - s.length <= 2 && /^(?:s|es|ed|d|ing|ly)$/.test(l.slice(s.length))) return true;
  // /8: one stem, different endings ("pancreas"/"pancreatic", "photosynthesis"/"photosynthetic"): a
  // shared prefix of seven letters or more covering at least four fifths of the shorter word.
  if (s.length >= 7) { let p = 0; while (p < s.length && s[p] === l[p]) p++; if (p >= 7 && p >= 0.8 * s.length) return true; }
  if (s.length < 6 || l.length - s.length > 1) return false;
  // Damerau–Levenshtein distance ≤ 1, for words of six letters or more.
  let i = 0;
  while (i < s.length && s[i] === l[i]) i++;
  if (s.length === l.length) return s.slice(i + 1) === l.slice(i + 1) || (s[i] === l[i + 1] && s[i + 1] === l[i] && s.slice(i + 2) === l.slice(i + 2));
  return s.slice(i) === l.slice(i + 1);
}
const NEGATION = /\b(?:not|no|never|none|neither|nor)\b|n't\b/i;

/**
 * A short answer (≤ 12 words, no option letter) that covers most of one option's words and clearly
 * more than any other's, words compared with spelling tolerance (/7): "Photosynthessis", "Magnesium
 * sulphate", "The catalyst increases the rate of the reaction". Never when two options are covered
 * alike, and an option whose polarity differs (the answer negates, the option does not) is not matched.
 */
function tolerantTextHit(t: string, options: readonly ShownOption[]): Hit | null {
  const n = (t.match(/[\p{L}\p{N}]+/gu) ?? []).length;
  // /8: a reply of one sentence (up to 30 words) that states most of one option's words, at least three of
  // them, clearly more than any other's, without hedging or supposing: "It places attacker controlled data
  // at predictible memory addresses so …" for "Place attacker-controlled data at predictable addresses".
  if (n > 12 && n <= 30 && !/[.!?;\n]\s{0,4}\S/.test(stripEnd(t.trim(), /[.!?]/)) && !SUPPOSING.test(t)) {
    const h = tolerantIn(t, 0, options, false, 3);
    // /9: a hedge word that is one of the matched option's own words ("…that you could will…") hedges nothing.
    const own = h ? new Set(options.find((o) => o.letter.toUpperCase() === h.letter)!.text.toLowerCase().match(/[\p{L}']+/gu) ?? []) : null;
    if (h && !HEDGE.test(t.replace(/[\p{L}']+/gu, (w) => (own!.has(w.toLowerCase()) ? ' '.repeat(w.length) : w)))) return { ...h, rule: 'option words (tolerant match, one sentence)' };
  }
  if (n > 12) return conclusionTextHit(t, options);
  return tolerantIn(t, 0, options, true);
}

/**
 * A reply of several sentences whose last sentence commits ("… is the textbook choice") and names most
 * of one option's words, clearly more than any other's: that option (/7). No letter is named anywhere.
 */
function conclusionTextHit(t: string, options: readonly ShownOption[]): Hit | null {
  const body = stripEnd(t, /[\s.!]/);
  const a = Math.max(...['.', '!', '?', '\n', ';'].map((c) => body.lastIndexOf(c))) + 1;
  if (a <= 0) return null;
  const last = body.slice(a);
  if (HEDGE.test(last) || conditionalClause(t, body.length)) return null;
  if (!COMMIT.test(last)) {
    if (NEGATION.test(last)) return null;
    // /8: or the last sentence ends by stating what something is ("The organelle that makes ATP is the
    // mitochondrion."): the complement of its last "is" read as option words.
    const c = /\b(?:is|are|was|were)\s{1,3}([^,;:]{1,80})$/i.exec(last);
    const h = c ? tolerantIn(c[1]!, a + c.index + c[0].length - c[1]!.length, options, false) : null;
    return h && { ...h, rule: 'conclusion: option words stated in the last sentence' };
  }
  const h = tolerantIn(last, a, options, false);
  return h && { ...h, rule: 'conclusion: option words in the last sentence' };
}

const FRAMING_WORDS = new Set(['answer', 'correct', 'right', 'reponse', 'bonne', 'juste', 'correcte', 'respuesta', 'correcta', 'correcto', 'risposta', 'corretta', 'giusta', 'resposta', 'certa', 'correta', 'antwort', 'richtige', 'richtig', 'lautet', 'ist', 'est', 'los', 'las', 'les', 'del', 'der', 'die', 'das', 'una', 'uno', 'une', 'ein', 'eine', 'donc', 'also', 'therefore', 'thus']);
function tolerantIn(s: string, offset: number, options: readonly ShownOption[], short: boolean, minWords = 1): Hit | null {
  // /8: a hyphenated compound also counts joined ("semi-permeable" names "semipermeable"); its parts count
  // as well ("beta-cells" names "beta cells") but not as words of their own in the short-answer share.
  // Linear in the answer's length (hostile output can be megabytes): a compound starts only at a word's start
  // (the lookbehind; without it every position of a long word re-scanned the rest of it), and the words it
  // covers are found by walking both lists, which are in text order, once.
  const words = contentWordSpans(s).map((x) => ({ ...x, w: canon(x.w), part: false }));
  const compounds: typeof words = [];
  let k = 0;
  for (const m of s.toLowerCase().matchAll(/(?<![\p{L}\p{N}])[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)+/gu)) {
    const start = m.index!, end = start + m[0].length;
    while (k < words.length && words[k]!.at < start) k++;
    for (let j = k; j < words.length && words[j]!.at < end; j++) words[j]!.part = true;
    compounds.push({ w: canon(m[0].replace(/-/g, '')), at: start, len: m[0].length, part: false });
  }
  words.push(...compounds);
  if (!words.length) return null;
  const neg = NEGATION.test(s);
  const optWords = options.map((o) => [...new Set(contentWords(o.text).map(canon))]);
  const scores = options.map((o, i) => {
    const ws = optWords[i]!;
    if (!ws.length || NEGATION.test(o.text) !== neg) return { cover: 0, first: -1, unique: false, used: 0 };
    let n = 0;
    let first = -1;
    let unique = false;
    for (const w of ws) {
      const hit = words.find((x) => nearWord(x.w, w));
      if (!hit) continue;
      n++;
      if (first < 0 || hit.at < words[first]!.at) first = words.indexOf(hit);
      if (!optWords.some((other, j) => j !== i && other.some((v) => nearWord(v, w)))) unique = true;
    }
    return { cover: n / ws.length, first, unique, used: words.filter((x) => !x.part && ws.some((w) => nearWord(x.w, w))).length };
  });
  const order = scores.map((s, i) => ({ ...s, i })).sort((a, b) => b.cover - a.cover);
  const [best, second] = [order[0]!, order[1]];
  if (best.cover < 0.5 || !best.unique || best.first < 0 || (second && second.cover > best.cover / 2)) return null;
  if (minWords > 1 && (best.cover < 0.75 || Math.round(best.cover * optWords[best.i]!.length) < Math.min(minWords, optWords[best.i]!.length))) return null;
  // A short answer mostly about something else ("Sea otters are adorable marine mammals…") names no option;
  // /8: unless it names every word of an option of two or more words and nothing of any other ("La
  // epinefrina intramuscular es el tratamiento de primera línea…").
  const whole = best.cover === 1 && optWords[best.i]!.length >= 2 && (!second || second.cover === 0);
  // Words that frame an answer ("the correct answer is", "la bonne réponse est", "a resposta certa é") are
  // not what the answer talks about (/8).
  if (short && !whole && best.used < words.filter((x) => !x.part && !FRAMING_WORDS.has(x.w)).length / 2) return null;
  const w = words[best.first]!;
  return { letter: options[best.i]!.letter.toUpperCase(), rule: 'option words (tolerant match, short answer)', index: offset + w.at, end: offset + w.at + w.len, matched: s.slice(w.at, w.at + w.len) };
}

/** "Many people might jump to B, but nothing in the text supports it": the same sentence turns against the mention. */
function contradicted(t: string, m: Hit): boolean {
  const b = bounds(t);
  const rest = t.slice(m.end, Math.min(m.end + 200, b.next(m.end)));
  const turn = /(?:,|;|\s[—–-])?\s{0,3}\b(?:but|however|yet)\b/i.exec(rest);
  return !!turn && /\b(?:nothing|no evidence|unsupported|wrong|incorrect|false|not|never|isn't|doesn't|wasn't|aren't)\b/i.test(rest.slice(turn.index));
}

/** A mention in a sentence that opens with a condition ("If the question meant the largest, it would be D"). */
function supposed(t: string, m: Hit): boolean {
  const start = bounds(t).prev(m.index) + 1;
  return SUPPOSING.test(t.slice(start, Math.min(m.index, start + 40)));
}

function inQuestion(t: string, m: Hit): boolean {
  return t[bounds(t).next(m.end)] === '?';
}

/**
 * Sentence boundaries ([.!?\n]) of a text, found once: `next(i)` is the first at or after i (t.length if
 * none), `prev(i)` the last before i (-1 if none). Per-mention checks use it, so a long text with many
 * mentions in one sentence stays linear-logarithmic (issue 20 hostile-input test).
 */
let boundsMemo: { t: string; b: { next: (i: number) => number; prev: (i: number) => number } } | null = null;
function bounds(t: string): { next: (i: number) => number; prev: (i: number) => number } {
  if (boundsMemo && boundsMemo.t === t) return boundsMemo.b;
  const at: number[] = [];
  for (let i = 0; i < t.length; i++) { const c = t.charCodeAt(i); if (c === 46 || c === 33 || c === 63 || c === 10) at.push(i); }
  const first = (i: number) => { let lo = 0; let hi = at.length; while (lo < hi) { const mid = (lo + hi) >> 1; if (at[mid]! < i) lo = mid + 1; else hi = mid; } return lo; };
  const b = { next: (i: number) => { const k = first(i); return k < at.length ? at[k]! : t.length; }, prev: (i: number) => { const k = first(i); return k > 0 ? at[k - 1]! : -1; } };
  boundsMemo = { t, b };
  return b;
}

let mentionsMemo: { t: string; letters: string[]; hits: Hit[] } | null = null;
function letterMentions(t: string, letters: string[]): Hit[] {
  if (mentionsMemo && mentionsMemo.t === t && mentionsMemo.letters === letters) return mentionsMemo.hits;
  const hits = letterMentionsUncached(t, letters);
  mentionsMemo = { t, letters, hits };
  return hits;
}
function letterMentionsUncached(t: string, letters: string[]): Hit[] {
  const out: Hit[] = [];
  for (const m of t.matchAll(/[A-Za-z]/g)) {
    const i = m.index!;
    const c = m[0];
    if (c !== c.toUpperCase() && !/^[.)\]:]/.test(t.slice(i + 1, i + 2)) && !/[(\[]$/.test(t.slice(Math.max(0, i - 1), i))) continue; // lower case only in "(b)" / "b." forms
    if (letterOk(t, i, letters)) out.push({ letter: c.toUpperCase(), rule: 'letter mention', index: i, end: i + 1, matched: c });
  }
  if (/first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d(?:st|nd|rd|th)|last|final|option|choice|alternative|former|latter/i.test(t)) {
    out.push(...ordinalMentions(t, letters));
    out.sort((a, b) => a.index - b.index);
  }
  return out;
}

/** Compatibility: the letter read, or null (refused or unreadable). */
export function extractLetterFrom(text: string, letters: string[]): string | null {
  const r = extractAnswer(text, letters.map((letter) => ({ letter, text: '' })));
  return r.outcome === 'answer' ? r.letter : null;
}
