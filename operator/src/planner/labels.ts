// Label selectors as Kubernetes evaluates them (metav1.LabelSelector): every matchLabels
// pair and every matchExpression must hold. The generated API type is used so a policy's
// selector is passed through untouched.
import type { LabelSelector, LabelSelectorMatchExpression } from '@natplan/api';

export type Labels = Readonly<Record<string, string | undefined>> | undefined;

function expressionMatches(expression: LabelSelectorMatchExpression, labels: Labels): boolean {
  const value = labels?.[expression.key];
  const values = expression.values ?? [];
  switch (expression.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

/**
 * Whether the labels satisfy the selector. An empty selector matches everything, as in
 * Kubernetes; an absent selector is the caller's decision (usually "everything" too).
 */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, wanted] of Object.entries(selector.matchLabels ?? {})) {
    if (wanted !== undefined && labels?.[key] !== wanted) return false;
  }
  return (selector.matchExpressions ?? []).every((expression) => expressionMatches(expression, labels));
}
