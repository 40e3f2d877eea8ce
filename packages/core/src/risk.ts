/**
 * Risk classes and verbs. Invariant: a delete, refund, external communication or financial
 * action is high risk, and nothing here can compute a lower class for it (SPEC rule 2).
 */

/** Risk classes, ordered from least to most risky. */
export const RISK_CLASSES = ['read', 'write', 'high'] as const;
export type RiskClass = (typeof RISK_CLASSES)[number];

/** What an action does to its system. */
export const VERBS = ['read', 'create', 'update', 'delete', 'send', 'pay'] as const;
export type Verb = (typeof VERBS)[number];

/** Tags that make an action high risk whatever else the config says. */
export const HIGH_RISK_TAGS = ['delete', 'refund', 'external', 'financial'] as const;
export type HighRiskTag = (typeof HIGH_RISK_TAGS)[number];

const RANK: Record<RiskClass, number> = { read: 0, write: 1, high: 2 };

/** Compares two risk classes: negative when `a` is less risky than `b`. */
export function compareRisk(a: RiskClass, b: RiskClass): number {
  return RANK[a] - RANK[b];
}

/** The riskier of two classes. */
export function maxRisk(a: RiskClass, b: RiskClass): RiskClass {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The tags a verb implies on its own: a delete is a delete, a send leaves the company, a payment is financial. */
export function impliedTags(verb: Verb): HighRiskTag[] {
  if (verb === 'delete') return ['delete'];
  if (verb === 'send') return ['external'];
  if (verb === 'pay') return ['financial'];
  return [];
}

/** The risk class an action has before configuration: its floor. */
export function defaultRisk(verb: Verb, tags: readonly HighRiskTag[] = []): RiskClass {
  if (tags.length > 0 || impliedTags(verb).length > 0) return 'high';
  return verb === 'read' ? 'read' : 'write';
}

/** The result of resolving an action's risk: the class and why, in words a department lead reads. */
export interface RiskAssessment {
  readonly risk: RiskClass;
  readonly why: string;
}

/**
 * Resolves the risk of an action from its verb, its tags and an optional configured class.
 * Config may raise a class, never lower it: a configured class below the floor is returned
 * as an error value naming the floor.
 */
export function resolveRisk(
  verb: Verb,
  tags: readonly HighRiskTag[],
  configured?: RiskClass,
): { ok: true; value: RiskAssessment } | { ok: false; error: string } {
  const allTags = [...new Set([...impliedTags(verb), ...tags])];
  const floor = defaultRisk(verb, allTags);
  if (configured !== undefined && compareRisk(configured, floor) < 0) {
    const because = allTags.length > 0 ? `it is tagged ${allTags.join(', ')}` : `its verb is ${verb}`;
    return { ok: false, error: `risk "${configured}" is below "${floor}", the lowest class allowed because ${because}; risk can be raised, never lowered` };
  }
  const risk = configured ?? floor;
  let why: string;
  if (allTags.length > 0) why = `high risk: ${allTags.map(describeTag).join(', ')}`;
  else if (configured !== undefined && configured !== floor) why = `${risk} risk: raised by configuration`;
  else why = verb === 'read' ? 'read: changes nothing' : `write: ${verb} changes data`;
  return { ok: true, value: { risk, why } };
}

function describeTag(tag: HighRiskTag): string {
  switch (tag) {
    case 'delete': return 'deletes data';
    case 'refund': return 'issues a refund';
    case 'external': return 'communicates outside the company';
    case 'financial': return 'moves money';
  }
}
